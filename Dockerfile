# syntax=docker/dockerfile:1
# agenthost: one image, one binary; the role is chosen at run time with `serve` and
# AGENTHOST_ROLES (deploy/ runs web, worker and scheduler Deployments from this image).
#
# Pinning: base images are pinned by tag. We cannot resolve registry digests offline
# where this file is written; to pin by digest as well, append the digest Cloud Build
# logs for each base (`FROM rust:1.95.0-bookworm@sha256:...`) and bump both together.
# Debian packages are pinned to the bookworm versions `apt-cache policy` showed when the
# pins were last updated (hadolint DL3008). Debian drops superseded point versions from
# its archive, so a pin that no longer resolves fails the build loudly: update it from
# `apt-cache policy <package>` in a bookworm container rather than unpinning it.
#
# Checked by scripts/check-deploy.sh (hadolint, no warnings allowed).

# ---- build: the host and every plugin ------------------------------------------------
FROM rust:1.95.0-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The guest toolchain scripts/build-plugins.sh needs (Debian's rustc-web 1.96 with the
# matching std source, and wasi-libc for wasm32-wasip2 crates), installed here pinned so
# the script finds it and skips its own unpinned apt-get. python3 reads cargo metadata.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      rustc-web=1.96.0+dfsg1-1~deb12u2 \
      cargo-web=1.96.0+dfsg1-1~deb12u2 \
      rust-web-src=1.96.0+dfsg1-1~deb12u2 \
      wasi-libc=0.0~git20220510.9886d3d-2 \
      python3=3.11.2-1+b1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ENV CARGO_TARGET_DIR=/src/target \
    AGENTHOST_PLUGINS_TARGET_DIR=/src/target/plugins \
    AGENTHOST_PLUGINS_OUT=/src/dist/plugins
# Guests first (components into dist/plugins; test-only plugins go to dist/test-plugins
# and are never copied into the runtime image), then the host from the locked graph.
# The debug info (line tables, ~190 MiB of the ~240 MiB a release build is) is split off
# into agenthost.debug, which stays in this stage (`docker build --target build` exports
# it to symbolize a backtrace); the image ships the binary without it, symbols kept, so
# panics still name their functions. scripts/check-deploy.sh reports the sizes.
RUN scripts/build-plugins.sh \
 && cargo build --release --locked -p agenthost \
 && objcopy --only-keep-debug target/release/agenthost target/release/agenthost.debug \
 && objcopy --strip-debug --add-gnu-debuglink=target/release/agenthost.debug \
      target/release/agenthost target/release/agenthost.stripped \
 && mv target/release/agenthost.stripped target/release/agenthost \
 && /src/target/release/agenthost --version
# Sign the bundled plugins with the release key when the build is given one (Cloud
# Build: `--secret id=plugin_signing_key,...` from Secret Manager; deploy/README.md,
# "Signed plugins"). A BuildKit secret is mounted for this RUN only and never lands in
# a layer; what ships is `<plugin>.wasm.sig` next to each component, which the host
# checks against AGENTHOST_PLUGIN_TRUSTED_KEYS. With REQUIRE_PLUGIN_SIGNATURES=true a
# build without the key fails instead of shipping plugins production would refuse.
ARG REQUIRE_PLUGIN_SIGNATURES=false
RUN --mount=type=secret,id=plugin_signing_key,required=false \
    key=/run/secrets/plugin_signing_key; \
    if [ -s "$key" ]; then \
      n=0; \
      for wasm in /src/dist/plugins/*.wasm; do \
        /src/target/release/agenthost plugin sign "$wasm" --key "$key" \
          && [ -s "$wasm.sig" ] || { echo "signing $wasm wrote no $wasm.sig" >&2; exit 1; }; \
        n=$((n + 1)); \
      done; \
      echo "bundled plugins signed: $n"; \
    elif [ "$REQUIRE_PLUGIN_SIGNATURES" = true ]; then \
      echo "REQUIRE_PLUGIN_SIGNATURES=true but no plugin_signing_key secret was given" >&2; exit 1; \
    else \
      echo "no plugin_signing_key secret: the bundled plugins are not signed"; \
    fi

# ---- runtime: binary, plugins, plugin config, CA certificates --------------------------
FROM debian:bookworm-20250520-slim AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# curl serves only the HEALTHCHECK below (Kubernetes uses its own probes, see deploy/).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates=20250419~deb12u2 \
      curl=7.88.1-10+deb12u15 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 agenthost \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /var/lib/agenthost --shell /usr/sbin/nologin agenthost \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/agenthost
# Everything the process reads is root-owned and read-only to it; the only writable path
# it needs is AGENTHOST_DATA_DIR (SQLite on a laptop, the wasm compile cache always), so
# the container runs with a read-only root filesystem plus a volume there (and /tmp).
COPY --from=build /src/target/release/agenthost /usr/local/bin/agenthost
COPY --from=build /src/dist/plugins /opt/agenthost/plugins
COPY config/plugins /opt/agenthost/config/plugins
ENV AGENTHOST_LISTEN=0.0.0.0:8080 \
    AGENTHOST_DATA_DIR=/var/lib/agenthost \
    AGENTHOST_PLUGIN_DIR=/opt/agenthost/plugins \
    AGENTHOST_PLUGIN_CONFIG_DIR=/opt/agenthost/config/plugins \
    AGENTHOST_LOG_FORMAT=json
VOLUME ["/var/lib/agenthost"]
USER 10001:10001
WORKDIR /var/lib/agenthost
# The public listener only. The admin listener (AGENTHOST_ADMIN_LISTEN) stays on the
# host's loopback default unless configured: deploy/ sets 0.0.0.0:9090 behind a ClusterIP
# Service and a NetworkPolicy, and never publishes it.
EXPOSE 8080
# Liveness only (the process answers); /readyz also checks storage and the queue.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["curl", "-fsS", "-o", "/dev/null", "--max-time", "2", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/agenthost"]
CMD ["serve"]
