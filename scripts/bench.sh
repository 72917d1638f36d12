#!/usr/bin/env bash
# Every performance figure of docs/performance.md in one command, each next to its
# baseline measured in the same run:
#   - invocation: the host's full path against bare wasmtime on the same engine;
#   - the message path against the real release binary: ingress against bare axum, one
#     message at a time, 2,000-lead bursts (echo and Landlord Rep) against the durability
#     limit of this disk and against the stack agenthost replaces (Flask + gunicorn +
#     Celery + RabbitMQ, from ../shared/reference-stack, installed here in a venv);
#   - many plugins per host: 1,000 variants of echo against echo alone.
# Release builds only. Extra environment: see the header of host/agenthost/benches/pipeline.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agenthost/target}"

[ -f dist/plugins/echo.wasm ] && [ -f dist/plugins/landlord-rep.wasm ] || scripts/build-plugins.sh
scripts/services.sh

REFERENCE_DIR="${BENCH_REFERENCE_DIR:-$(cd .. && pwd)/shared/reference-stack}"
if [ -f "$REFERENCE_DIR/app.py" ]; then
  VENV="${BENCH_REFERENCE_VENV:-$HOME/.cache/agenthost/reference-venv}"
  if [ ! -x "$VENV/bin/celery" ] || [ ! -x "$VENV/bin/gunicorn" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet flask gunicorn celery twilio requests
  fi
  export BENCH_REFERENCE_VENV="$VENV" BENCH_REFERENCE_DIR="$REFERENCE_DIR"
else
  echo "bench: no reference stack at $REFERENCE_DIR; its column is left out" >&2
fi

cargo bench -p agenthost-runtime --bench invoke
cargo bench -p agenthost --bench pipeline
cargo bench -p agenthost --bench many
