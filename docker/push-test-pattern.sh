#!/bin/sh
# Pushes a 720p + 360p + AAC test pattern to one origin or to a redundant pair, as one long
# chunked PUT per output and origin (ingest shape 1): one encode, copied to every origin in
# ORIGINS by ffmpeg's tee muxer. An origin that fails is dropped and the others go on
# (onfail=ignore); ffmpeg does not reconnect, so run it under a supervisor (compose restarts it
# when every output has failed) and restart it to feed an origin that came back.
#   ORIGIN=http://127.0.0.1:8081 STREAM=test sh docker/push-test-pattern.sh
#   ORIGINS="http://origin-a:8081 http://origin-b:8081" STREAM=test sh docker/push-test-pattern.sh
# INGEST_TOKEN, when set, is sent as "Authorization: Bearer $INGEST_TOKEN" on every PUT.
set -eu
ORIGINS="${ORIGINS:-${ORIGIN:-http://127.0.0.1:8081}}"
STREAM="${STREAM:-test}"
FRAG='movflags=+frag_keyframe+empty_moov+default_base_moof:frag_duration=200000'
# A tee slave option value: ':' escaped; ffmpeg adds the header's CRLF.
AUTH="${INGEST_TOKEN:+:headers=Authorization\\: Bearer $INGEST_TOKEN}"
# The tee muxer asks encoders for no global header: MP4 needs one (avcC, esds).
X264='-c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -g 50 -keyint_min 50 -sc_threshold 0 -flags +global_header'

# tee_to FILE: the tee target list for one output, one PUT per origin.
tee_to() {
  out=''
  for origin in $ORIGINS; do
    out="${out:+$out|}[f=mp4:$FRAG:method=PUT$AUTH:onfail=ignore]$origin/live/$STREAM/$1"
  done
  printf '%s' "$out"
}

# shellcheck disable=SC2086
exec ffmpeg -hide_banner -nostdin -loglevel warning \
  -re -f lavfi -i "testsrc2=size=1280x720:rate=25" \
  -re -f lavfi -i "sine=frequency=440:sample_rate=48000:beep_factor=4" \
  -map 0:v $X264 -b:v 2500k -maxrate 2750k -bufsize 2500k -f tee "$(tee_to v720.mp4)" \
  -map 0:v $X264 -s 640x360 -b:v 800k -maxrate 880k -bufsize 800k -f tee "$(tee_to v360.mp4)" \
  -map 1:a -c:a aac -b:a 96k -flags +global_header -f tee "$(tee_to audio.mp4)"
