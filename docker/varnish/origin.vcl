vcl 4.1;

# The edge in front of one origin pair (README, "Behind a CDN: the Varnish edge"). Varnish 7.1,
# std and directors only. Every TTL comes from the origin's Cache-Control; this file decides
# what is coalesced, what is streamed and where a request goes when an origin fails.

import std;
import directors;

# The `default` probe applies to every backend declared after it that has no `.probe` of its own
# (vcl-probe(7)), so backends.vcl, ours or a test's, holds nothing but the two backends. Sick
# after two failed polls of three (one second apart); healthy from the start.
probe default {
    .url = "/healthz";
    .interval = 1s;
    .timeout = 500ms;
    .window = 3;
    .threshold = 2;
    .initial = 2;
}

include "backends.vcl";

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_init {
    new origins = directors.fallback();
    origins.add_backend(origin_a);
    origins.add_backend(origin_b);
}

sub vcl_recv {
    # Purge one stream: `curl -X BAN http://127.0.0.1/live/{stream}/` on the edge's host. The ban
    # reads only obj.* so the ban lurker clears matching objects in the background.
    if (req.method == "BAN") {
        if (client.ip !~ purgers) {
            return (synth(403, "BAN is allowed from loopback only"));
        }
        if (req.url !~ "^/live/[A-Za-z0-9_-]{1,64}/$") {
            return (synth(400, "BAN /live/{stream}/"));
        }
        if (std.ban("obj.http.X-Edge-Url ~ ^" + req.url)) {
            return (synth(200, "Banned " + req.url));
        }
        return (synth(400, std.ban_error()));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    if (req.http.Authorization) {
        return (pass);
    }
    # Headers this file uses for itself are never taken from a client.
    unset req.http.X-Edge-Range;
    unset req.http.X-Edge-Retry-From;
    # The origin reads no cookies and one Accept-Encoding variant of gzip is enough: requests
    # that differ only there must share one object (and one backend request).
    unset req.http.Cookie;
    if (req.http.Accept-Encoding ~ "gzip") {
        set req.http.Accept-Encoding = "gzip";
    } else {
        unset req.http.Accept-Encoding;
    }
    # `?_HLS_part=2&_HLS_msn=5` and `?_HLS_msn=5&_HLS_part=2` are one object; each
    # _HLS_msn/_HLS_part/_HLS_skip combination stays an object of its own.
    set req.url = std.querysort(req.url);
    # Ranges of media are objects of their own, keyed by the Range and fetched with it. Varnish
    # cannot cut a range out of an object it is still fetching without a Content-Length: it
    # answers 200 with the whole body instead (cache_range.c vrg_dorange, "Allow 200 response"
    # when resp_len < 0), which would hand an LL-HLS byte-range part or a HESP continuation
    # (`Range: bytes=N-` on a growing segment) the wrong bytes. Forwarded, the origin answers
    # the range itself (RFC 8673 206, part-atomic or chunk by chunk) and every player asking for
    # that range shares one fetch, streamed like any other.
    if (req.http.Range && req.url ~ "\.(m4s|mp4|ts)(\?|$)") {
        set req.http.X-Edge-Range = req.http.Range;
    }
    return (hash);
}

sub vcl_hash {
    # The origin's responses do not depend on the Host the player used.
    hash_data(req.url);
    if (req.http.X-Edge-Range) {
        hash_data(req.http.X-Edge-Range);
    }
    return (lookup);
}

sub vcl_backend_fetch {
    # The first attempt goes where the fallback director says (origin_a unless its probe says
    # it is sick); a retry goes to the other origin.
    if (bereq.retries == 0) {
        set bereq.backend = origins.backend();
    } else if (bereq.http.X-Edge-Retry-From == "origin_a") {
        set bereq.backend = origin_b;
    } else {
        set bereq.backend = origin_a;
    }
    if (bereq.http.X-Edge-Range) {
        set bereq.http.Range = bereq.http.X-Edge-Range;
    }
    return (fetch);
}

sub vcl_backend_response {
    # A request the other origin may answer better: 5xx, or a 404 the origin lets caches keep
    # (a stream or instance it does not have, as after a restart) as opposed to a `no-store`
    # 404 for an object not produced yet. One retry, only if the other origin is healthy, and
    # not after a hold (a stalled stream stalls on both origins).
    if (bereq.retries == 0 && now - bereq.time < 1s && (beresp.status >= 500 || (beresp.status == 404 && beresp.http.Cache-Control !~ "no-store"))) {
        if ((beresp.backend == origin_a && std.healthy(origin_b)) || (beresp.backend == origin_b && std.healthy(origin_a))) {
            set bereq.http.X-Edge-Retry-From = beresp.backend;
            return (retry);
        }
    }
    # For bans by path prefix (lurker-friendly: obj.* only).
    set beresp.http.X-Edge-Url = bereq.url;
    if (beresp.status == 206 && bereq.http.X-Edge-Range) {
        # Varnish computes no TTL for a 206 and refuses one it did not ask for itself
        # (cache_range.c VRG_CheckBo): keep its Content-Range aside, restored in vcl_deliver.
        set beresp.http.X-Edge-Content-Range = beresp.http.Content-Range;
        unset beresp.http.Content-Range;
        if (beresp.http.Cache-Control ~ "max-age=\d+") {
            set beresp.ttl = std.duration(regsub(beresp.http.Cache-Control, "^.*max-age=(\d+).*$", "\1s"), 0s);
        }
    }
    # A live object is never served stale unless the origin says so (stale-while-revalidate).
    if (beresp.http.Cache-Control !~ "stale-while-revalidate") {
        set beresp.grace = 0s;
    }
    set beresp.keep = 0s;
    if (beresp.http.Cache-Control ~ "(?i)no-store|no-cache|private" || beresp.ttl <= 0s) {
        if (beresp.status >= 400 && now - bereq.time > 1s) {
            # An error after the origin held the request (a blocking reload or a hinted part
            # that did not arrive within its hold limit): every request waiting on this fetch
            # asked the same question at the same moment and gets this answer now. Left
            # uncacheable, Varnish would wake them rush_exponent at a time (cache_hash.c
            # HSH_Unbusy/hsh_rush1), each into a new hold at the origin.
            set beresp.ttl = 1s;
            set beresp.http.Cache-Control = "no-store";
            return (deliver);
        }
        # Hit-for-miss for one second: requests for this URL go to the origin one by one
        # without queueing behind each other (a waiting list behind an uncacheable answer is
        # served in series, users-guide increasing-your-hitrate), and the first cacheable answer
        # (the object once it exists) replaces it. Short, so that a URL that answered 404
        # before it existed is coalesced again by the time it is produced.
        set beresp.ttl = 1s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    # Segments in production, parts, prefetch segments, chunked LL-DASH segments, TS being
    # remuxed and HESP continuations reach every waiting client as they arrive.
    set beresp.do_stream = true;
    return (deliver);
}

sub vcl_backend_error {
    # The origin failed before its first byte (refused, reset, timed out): GET and HEAD are
    # idempotent, so ask the other origin once. After the first byte nothing can be retried:
    # readers already have the head, and see the cut (fetch failed, object not kept).
    if (bereq.retries == 0 && bereq.method ~ "^(GET|HEAD)$") {
        set bereq.http.X-Edge-Retry-From = beresp.backend;
        return (retry);
    }
    set beresp.http.Content-Type = "text/plain; charset=utf-8";
    set beresp.http.Cache-Control = "no-store";
    set beresp.http.Retry-After = "1";
    set beresp.http.Access-Control-Allow-Origin = "*";
    set beresp.body = "" + beresp.status + " edge: no origin answered " + bereq.url + {"
"};
    set beresp.ttl = 1s;
    set beresp.uncacheable = true;
    return (deliver);
}

sub vcl_deliver {
    unset resp.http.X-Edge-Url;
    if (resp.http.X-Edge-Content-Range) {
        set resp.http.Content-Range = resp.http.X-Edge-Content-Range;
        unset resp.http.X-Edge-Content-Range;
    }
    if (obj.uncacheable) {
        set resp.http.X-Cache = "pass";
    } elsif (obj.hits > 0) {
        set resp.http.X-Cache = "hit";
    } else {
        set resp.http.X-Cache = "miss";
    }
    return (deliver);
}

sub vcl_synth {
    set resp.http.Content-Type = "text/plain; charset=utf-8";
    set resp.body = "" + resp.status + " " + resp.reason + {"
"};
    return (deliver);
}
