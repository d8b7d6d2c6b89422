#!/bin/sh
# Pushes a 720p + 360p + AAC test pattern to the origin as one long chunked PUT per output
# (ingest shape 1). ffmpeg does not reconnect: run it under a supervisor (compose restarts it);
# the origin continues the stream's timeline across the reconnect.
#   ORIGIN=http://127.0.0.1:8081 STREAM=test sh docker/push-test-pattern.sh
set -eu
ORIGIN="${ORIGIN:-http://127.0.0.1:8081}"
STREAM="${STREAM:-test}"
FRAG='-movflags +frag_keyframe+empty_moov+default_base_moof -frag_duration 200000'
X264='-c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -g 50 -keyint_min 50 -sc_threshold 0'
# shellcheck disable=SC2086
exec ffmpeg -hide_banner -nostdin -loglevel warning \
  -re -f lavfi -i "testsrc2=size=1280x720:rate=25" \
  -re -f lavfi -i "sine=frequency=440:sample_rate=48000:beep_factor=4" \
  -map 0:v $X264 -b:v 2500k -maxrate 2750k -bufsize 2500k $FRAG -f mp4 -method PUT "$ORIGIN/live/$STREAM/v720.mp4" \
  -map 0:v $X264 -s 640x360 -b:v 800k -maxrate 880k -bufsize 800k $FRAG -f mp4 -method PUT "$ORIGIN/live/$STREAM/v360.mp4" \
  -map 1:a -c:a aac -b:a 96k $FRAG -f mp4 -method PUT "$ORIGIN/live/$STREAM/audio.mp4"
