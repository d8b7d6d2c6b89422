# An ffmpeg from Debian that pushes a live test pattern to the origin (see push-test-pattern.sh).
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 encoder
COPY docker/push-test-pattern.sh /usr/local/bin/push-test-pattern
USER encoder
ENTRYPOINT ["/usr/local/bin/push-test-pattern"]
