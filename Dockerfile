# syntax=docker/dockerfile:1
# stratus container image: a static-ish Rust binary on distroless cc, as uid 65532.
# Build:  docker build -t ghcr.io/stratus-otel/stratus:0.1.0 .
# Run:    docker run --read-only -v stratus-state:/var/lib/stratus -p 4317:4317 -p 4318:4318 \
#           ghcr.io/stratus-otel/stratus:0.1.0

# ---- builder: the same command scripts/test runs ----
FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p stratus --bin stratus \
    && install -d -m 0755 /out/var/lib/stratus

# ---- runtime: no shell, no package manager, non-root ----
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="stratus" \
      org.opencontainers.image.description="Rust-native OpenTelemetry Collector distribution for multi-cloud and hybrid-cloud deployments" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.source="https://github.com/stratus-otel/stratus" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="stratus-otel"
COPY --from=builder /src/target/release/stratus /usr/local/bin/stratus
# Default config (OTLP in, debug out); mount or --config another one in production.
# It listens on STRATUS_LISTEN_HOST: every interface of the container, so that
# published ports reach it.
COPY config/local.yaml /etc/stratus/config.yaml
ENV STRATUS_LISTEN_HOST=0.0.0.0
# Writable state (file_storage, disk queues): owned by the runtime user so that the
# image layer, or a fresh volume mounted here, is writable with a read-only root fs.
COPY --from=builder --chown=65532:65532 /out/var/lib/stratus /var/lib/stratus
VOLUME ["/var/lib/stratus"]
USER 65532:65532
EXPOSE 4317 4318 8888 13133
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/stratus", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/stratus"]
CMD ["--config", "/etc/stratus/config.yaml"]
