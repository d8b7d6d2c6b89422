/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, startPageServer } from '../helpers/browser.js';
import { AAC, ffmpeg, FRAGMENTED, LIVE_SOURCE, run, X264, type FfmpegRun } from '../helpers/ffmpeg.js';
import { completeSegments, get, getText, parseMaster, parseMedia, resolve, waitFor } from '../helpers/hls.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { periodicCues, pushTextTrack } from '../helpers/text-track.js';

/** Cue k lasts from 2k + 0.5 to 2k + 1.5 s of media time (the video's tfdt / timescale). */
const CUES = periodicCues(60);
const PLAY_SECONDS = 8;

interface PageCue {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** The tfdt of a CMAF segment, in seconds. */
function tfdtSeconds(segment: Buffer, timescale: number): number {
  const at = segment.indexOf('tfdt', 0, 'latin1');
  const version = segment[at + 4];
  return Number(version === 1 ? segment.readBigUInt64BE(at + 8) : BigInt(segment.readUInt32BE(at + 8))) / timescale;
}

/** The cues of every text track of the page's video, with its currentTime. */
async function pageCues(page: Page): Promise<{ cues: PageCue[]; currentTime: number }> {
  return page.evaluate(() => {
    const video = document.querySelector('video')!;
    const cues: PageCue[] = [];
    for (const track of Array.from(video.textTracks)) {
      // dash.js renders IMSC1 cues as HTML: their text is in the intermediate document (isd) it keeps.
      for (const c of Array.from(track.cues ?? [])) cues.push({ start: c.startTime, end: c.endTime, text: (c as VTTCue).text || (/Cue \d+/.exec(JSON.stringify((c as unknown as { isd?: unknown }).isd ?? ''))?.[0] ?? '') });
    }
    return { cues, currentTime: video.currentTime };
  });
}

/**
 * A cue as the viewer sees it: the pieces of one cue that came in consecutive parts or chunks
 * (each carries the cue over its own time, ISO/IEC 14496-30 7.3) joined, repeats dropped.
 */
function joined(cues: readonly PageCue[]): PageCue[] {
  const out: PageCue[] = [];
  for (const c of [...cues].sort((a, b) => a.start - b.start || a.end - b.end)) {
    const same = out.find((o) => o.text === c.text && c.start <= o.end + 0.002 && c.end >= o.start - 0.002);
    if (same) out[out.indexOf(same)] = { text: c.text, start: Math.min(same.start, c.start), end: Math.max(same.end, c.end) };
    else out.push(c);
  }
  return out;
}

/** Each cue the player shows is one of ours, at its media time plus the player's offset `shift`. */
function assertCueTimes(pieces: readonly PageCue[], shift: number, player: string): void {
  const cues = joined(pieces);
  assert.ok(cues.length >= 2, `${player} has cues: ${JSON.stringify(pieces)}`);
  // The newest cue may still be growing (its next part not loaded yet): its end is not checked;
  // the oldest may have begun before the first part the player loaded: its start is not checked.
  const newest = cues.at(-1);
  const oldest = cues[0];
  for (const c of cues) {
    const k = Number(/Cue (\d+)/.exec(c.text)?.[1]);
    assert.ok(Number.isInteger(k), `${player} cue text '${c.text}'`);
    const expected = CUES[k]!;
    if (c !== oldest) assert.ok(Math.abs(c.start - (expected.start + shift)) < 0.05, `${player}: '${c.text}' starts at ${c.start.toFixed(3)}, expected ${(expected.start + shift).toFixed(3)}`);
    if (c !== newest) assert.ok(Math.abs(c.end - (expected.end + shift)) < 0.05, `${player}: '${c.text}' ends at ${c.end.toFixed(3)}, expected ${(expected.end + shift).toFixed(3)}`);
  }
}

/** Real ffmpeg video+audio push, a WebVTT and an IMSC1 track pushed beside it → HLS, DASH, players. */
describe('subtitles end to end', () => {
  let o: TestOrigin;
  let push: FfmpegRun;
  let imscPush: FfmpegRun;
  let texts: ReturnType<typeof pushTextTrack>[] = [];
  let browser: Browser;
  let pages: Awaited<ReturnType<typeof startPageServer>>;
  const base = (): string => `${o.playback}/live/subs`;

  before(async () => {
    // Tracks end 3 s after their pushes stop (the ffprobe test waits for that).
    // Parts of 0.5 s: with the part target from the encoder's 200 ms chunks (0.215 s), a GOP's
    // first chunk of 0.181 s is an independent part under 85 % of it, which RFC 8216bis 4.4.4.9
    // allows and hls-parser 0.16's strict mode (which the waits below use) does not.
    o = await startOrigin({ log: { level: 'warn' }, ingest: { idleTimeoutMs: 3000 }, segment: { partTarget: 0.5 } });
    const zeroMs = Date.now();
    push = ffmpeg([
      ...LIVE_SOURCE, '-t', '120',
      '-map', '0:v', ...X264, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/subs/video.mp4`,
      '-map', '1:a', ...AAC, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/subs/audio.mp4`,
    ]);
    // A second stream with IMSC1 subtitles only (HLS offers IMSC1 where there is no WebVTT).
    const imscZeroMs = Date.now();
    imscPush = ffmpeg(['-re', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25', '-t', '120', ...X264, ...FRAGMENTED, '-method', 'PUT', `${o.ingest}/live/imsc/video.mp4`]);
    [browser, pages] = await Promise.all([launchChromium(), startPageServer()]);
    // The packager's text tracks join once the video runs (their timestamps are on its timeline).
    await waitFor('the video tracks', () => (o.origin.streams.get('subs')?.tracks.get('video')?.segmentCount && o.origin.streams.get('imsc')?.tracks.get('video')?.segmentCount ? true : undefined), 20_000);
    texts = [
      pushTextTrack(`${o.ingest}/live/subs/english.mp4`, 'wvtt', { zeroMs, cues: CUES, language: 'eng', seconds: 120 }),
      pushTextTrack(`${o.ingest}/live/subs/german.mp4`, 'stpp', { zeroMs, cues: CUES, language: 'deu', seconds: 120 }),
      pushTextTrack(`${o.ingest}/live/imsc/german.mp4`, 'stpp', { zeroMs: imscZeroMs, cues: CUES, language: 'deu', seconds: 120 }),
    ];
    await waitFor('3 subtitle segments', async () => {
      const pl = await get(`${base()}/english/index.m3u8`);
      return pl.status === 200 && completeSegments(parseMedia(pl.body.toString())).length >= 3 ? true : undefined;
    }, 20_000);
  });

  after(async () => {
    push?.kill();
    imscPush?.kill();
    await Promise.all(texts.map((t) => t.stop()));
    await browser?.close();
    await pages?.close();
    await o?.stop();
  });

  it('HLS: the multivariant playlists carry the SUBTITLES group; .vtt segments share the media numbers and boundaries', async () => {
    for (const [file, playlist] of [['master.m3u8', 'index.m3u8'], ['master-lhls.m3u8', 'lhls.m3u8'], ['master-ts.m3u8', 'ts.m3u8']] as const) {
      const master = parseMaster(await getText(`${base()}/${file}`));
      const subs = master.variants[0]!.subtitles;
      // WebVTT and IMSC1 both pushed: HLS offers the WebVTT group (renditions.ts), DASH both.
      assert.deepEqual(subs.map((r) => [r.name, r.language]), [['english', 'eng']], file);
      for (const r of subs) assert.equal(r.uri, `${r.name}/${playlist}`);
      for (const v of master.variants) assert.equal(v.closedCaptions.length, 0);
    }
    const video = parseMedia(await getText(`${base()}/video/index.m3u8`));
    const englishLl = parseMedia(await getText(`${base()}/english/index.m3u8`));
    // LL-HLS: parts as .vtt, like the media's.
    assert.ok(englishLl.segments.flatMap((s) => s.parts).some((p) => /\/\d+\.\d+\.vtt$/.test(p.uri)));
    const english = { ...englishLl, segments: completeSegments(englishLl) };
    const videoByMsn = new Map(completeSegments(video).map((s) => [s.mediaSequenceNumber, s]));
    let compared = 0;
    for (const s of english.segments) {
      const v = videoByMsn.get(s.mediaSequenceNumber);
      if (!v) continue;
      compared++;
      assert.equal(s.duration, v.duration, `segment ${s.mediaSequenceNumber} lasts as long as the video's`);
      const vtt = await get(resolve(`${base()}/english/index.m3u8`, s.uri));
      assert.equal(vtt.status, 200);
      assert.equal(vtt.headers['content-type'], 'text/vtt; charset=utf-8');
      const text = vtt.body.toString();
      const map = /^WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:(\d+),LOCAL:00:00:00.000\n/.exec(text);
      assert.ok(map, text);
      // The map names the start of the video segment of the same number.
      const videoStart = tfdtSeconds((await get(resolve(`${base()}/video/index.m3u8`, v.uri))).body, 12800);
      const start = Number(map[1]) / 90000;
      assert.ok(Math.abs(start - videoStart) < 0.001, `segment ${s.mediaSequenceNumber}: .vtt at ${start} s, video at ${videoStart} s`);
      // Every cue is at its media time once mapped.
      for (const m of text.matchAll(/(\d\d):(\d\d):(\d\d\.\d{3}) --> (\d\d):(\d\d):(\d\d\.\d{3})\n(Cue \d+)/g)) {
        const cue = CUES[Number(m[7]!.slice(4))]!;
        assert.ok(Math.abs(start + Number(m[3]) - Math.max(cue.start, start)) < 0.001, `${m[7]} starts at ${start + Number(m[3])}`);
        assert.ok(Math.abs(start + Number(m[6]) - Math.min(cue.end, start + s.duration)) < 0.001, `${m[7]} ends at ${start + Number(m[6])}`);
      }
    }
    assert.ok(compared >= 2, `compared ${compared} segments`);
    // The TS flavour's .vtt maps to the PTS of the TS segments (tfdt + 1 s), the cues alike.
    const last = english.segments.at(-1)!;
    const tsVtt = await getText(resolve(`${base()}/english/index.m3u8`, last.uri.replace('.vtt', '-ts.vtt')));
    const fmp4Vtt = await getText(resolve(`${base()}/english/index.m3u8`, last.uri));
    const mpegts = (t: string): number => Number(/MPEGTS:(\d+)/.exec(t)![1]);
    assert.equal(mpegts(tsVtt), mpegts(fmp4Vtt) + 90000);
    assert.equal(tsVtt.replace(/MPEGTS:\d+/, ''), fmp4Vtt.replace(/MPEGTS:\d+/, ''));
    assert.match(await getText(`${base()}/english/ts.m3u8`), new RegExp(`/${last.mediaSequenceNumber}-ts\\.vtt`));
    // The hinted part is held until it exists, then sent as WebVTT.
    const hint = englishLl.segments.flatMap((s) => s.parts).find((p) => p.hint)!;
    const part = await get(resolve(`${base()}/english/index.m3u8`, hint.uri));
    assert.equal(part.status, 200);
    assert.match(part.body.toString(), /^WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:\d+,LOCAL:00:00:00.000\n/);
    // IMSC1 stays fMP4, with parts.
    const german = parseMedia(await getText(`${base()}/german/index.m3u8`));
    assert.ok(german.segments.some((s) => s.parts.length > 0));
    assert.ok(german.segments[0]!.map);
  });

  for (const [stream, name, format] of [['subs', 'english', 'WebVTT'], ['imsc', 'german', 'IMSC1']] as const) {
    it(`hls.js (lowLatencyMode) shows the ${format} cues at their media times while playing`, async () => {
      const base = (): string => `${o.playback}/live/${stream}`;
      const page = await browser.newPage();
      try {
        await page.goto(pages.url);
        await page.addScriptTag({ url: '/hls.js' });
        await page.evaluate((src) => {
          const w = window as unknown as { Hls: new (c: object) => HlsLike; __hls: HlsLike };
          interface HlsLike {
            loadSource(u: string): void;
            attachMedia(v: HTMLVideoElement): void;
            subtitleTrack: number;
            subtitleDisplay: boolean;
          }
          const hls = new w.Hls({ lowLatencyMode: true });
          w.__hls = hls;
          hls.loadSource(src);
          const video = document.getElementById('v') as HTMLVideoElement;
          hls.attachMedia(video);
          void video.play();
        }, `${base()}/master.m3u8`);
        await page.waitForFunction(() => document.querySelector('video')!.currentTime > 0, undefined, { timeout: 20_000 });
        // A viewer turns the subtitles on (hls.js selects none by itself: DEFAULT=NO).
        await page.evaluate((name) => {
          const hls = (window as unknown as { __hls: { subtitleTracks: { name: string }[]; subtitleTrack: number; subtitleDisplay: boolean } }).__hls;
          hls.subtitleDisplay = true;
          hls.subtitleTrack = hls.subtitleTracks.findIndex((t) => t.name === name);
        }, name);
        await page.waitForTimeout(PLAY_SECONDS * 1000);
        const { cues, currentTime } = await pageCues(page);
        // hls.js plays fMP4 at tfdt − initPTS: find its offset from a video fragment it placed.
        const frag = await page.evaluate(() => {
          const hls = (window as unknown as { __hls: { levels: { details?: { fragments: { sn: number; start: number }[] } }[]; currentLevel: number } }).__hls;
          const f = hls.levels[Math.max(0, hls.currentLevel)]!.details!.fragments.at(-2)!;
          return { sn: f.sn, start: f.start };
        });
        const video = parseMedia(await getText(`${base()}/video/index.m3u8`));
        const seg = video.segments.find((s) => s.mediaSequenceNumber === frag.sn)!;
        const shift = frag.start - tfdtSeconds((await get(resolve(`${base()}/video/index.m3u8`, seg.uri))).body, 12800);
        console.log(`# hls.js ${format}: ${joined(cues).length} cues (${cues.length} pieces) at currentTime ${currentTime.toFixed(2)} (offset ${shift.toFixed(3)} s): ${joined(cues).slice(-3).map((c) => `${c.text} ${c.start.toFixed(3)}–${c.end.toFixed(3)}`).join(', ')}`);
        assertCueTimes(cues, shift, `hls.js ${format}`);
        assert.ok(cues.some((c) => c.start <= currentTime + 2), 'cues near the playhead');
      } finally {
        await page.close();
      }
    });
  }

  for (const [lang, name, format] of [['eng', 'english', 'WebVTT'], ['deu', 'german', 'IMSC1']] as const) {
    it(`dash.js shows the ${format} cues at their media times while playing`, async () => {
      const page = await browser.newPage();
      try {
        await page.goto(pages.url);
        await page.addScriptTag({ url: '/dash.js' });
        await page.evaluate(
          ({ src, lang }) => {
            const w = window as unknown as { dashjs: { MediaPlayer(): { create(): DashLike } } };
            interface DashLike {
              initialize(v: HTMLVideoElement, u: string | undefined, a: boolean): void;
              updateSettings(s: object): void;
              setInitialMediaSettingsFor(type: string, s: object): void;
              attachSource(u: string): void;
              attachTTMLRenderingDiv(d: HTMLDivElement): void;
            }
            const dash = w.dashjs.MediaPlayer().create();
            dash.initialize(document.getElementById('v') as HTMLVideoElement, undefined, true);
            // dash.js renders IMSC1 as HTML into a div of the page's own.
            const div = document.createElement('div');
            document.body.appendChild(div);
            dash.attachTTMLRenderingDiv(div);
            dash.updateSettings({ streaming: { text: { defaultEnabled: true } } });
            dash.setInitialMediaSettingsFor('text', { lang, role: 'subtitle' });
            dash.attachSource(src);
          },
          { src: `${base()}/manifest.mpd`, lang },
        );
        await page.waitForFunction(() => document.querySelector('video')!.currentTime > 0, undefined, { timeout: 20_000 });
        await page.waitForTimeout(PLAY_SECONDS * 1000);
        const { cues, currentTime } = await pageCues(page);
        // dash.js plays at Period@start + (tfdt − presentationTimeOffset) / timescale.
        const mpd = await getText(`${base()}/manifest.mpd`);
        const period = /<Period id="[^"]+" start="PT([\d.]+)S">/.exec(mpd)!;
        const template = new RegExp(`<Representation id="${name}"[^>]*>\\s*<SegmentTemplate timescale="(\\d+)"[^>]*presentationTimeOffset="(\\d+)"`).exec(mpd)!;
        const shift = Number(period[1]) - Number(template[2]) / Number(template[1]);
        console.log(`# dash.js ${format}: ${joined(cues).length} cues (${cues.length} pieces) at currentTime ${currentTime.toFixed(2)}: ${joined(cues).slice(-3).map((c) => `${c.text} ${c.start.toFixed(3)}–${c.end.toFixed(3)}`).join(', ')}`);
        assertCueTimes(cues, shift, `dash.js ${format}`);
      } finally {
        await page.close();
      }
    });
  }

  it('ffprobe reads the WebVTT rendition of the multivariant playlist', async () => {
    // ffmpeg 5.1 opens subtitle renditions only with -strict experimental (libavformat/hls.c), and
    // reads a live one without end while probing: the encoder and the packager stop first.
    push.kill('SIGINT');
    await Promise.all(texts.map((t) => t.stop()));
    await push.exited;
    const probe = await run('ffprobe', ['-v', 'error', '-strict', 'experimental', '-show_entries', 'stream=codec_type,codec_name', '-of', 'csv=p=0', `${base()}/master.m3u8`], 30_000);
    assert.match(probe.stdout, /webvtt,subtitle/, probe.stdout + probe.stderr);
  });

});
