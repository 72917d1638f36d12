# syntax=docker/dockerfile:1
# agenthost: one image, one binary; roles chosen with `serve` + AGENTHOST_ROLES.
#
# What exists: a two-stage build of the host and every plugin (with the project's own
# guest toolchain script) into a slim runtime image running as a non-root user.
# What does not yet (the "Ship it to GKE" issue): pinned digests, hadolint in the test
# suite, HEALTHCHECK tuning, and the deploy/ manifests that run it.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Guests: Debian's rustc-web toolchain, installed by the script itself.
RUN scripts/build-plugins.sh
ENV CARGO_TARGET_DIR=/src/target
RUN cargo build --release --locked -p agenthost

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/agenthost agenthost \
 && mkdir -p /var/lib/agenthost && chown agenthost /var/lib/agenthost
COPY --from=build /src/target/release/agenthost /usr/local/bin/agenthost
COPY --from=build /src/dist/plugins /opt/agenthost/plugins
ENV AGENTHOST_LISTEN=0.0.0.0:8080 \
    AGENTHOST_DATA_DIR=/var/lib/agenthost \
    AGENTHOST_PLUGIN_DIR=/opt/agenthost/plugins \
    AGENTHOST_LOG_FORMAT=json
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/agenthost"]
CMD ["serve"]
