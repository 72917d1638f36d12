#!/usr/bin/env bash
# Every performance figure of docs/performance.md in one command, each next to its
# baseline measured in the same run:
#   - invocation: the host's full path against bare wasmtime on the same engine;
#   - the message path against the real release binary: ingress against bare axum, one
#     message at a time, 2,000-lead bursts (echo and Landlord Rep) against the durability
#     limit of this disk and against the stack agenthost replaces (Flask + gunicorn +
#     Celery + RabbitMQ, from ../shared/reference-stack, installed here in a venv);
#   - many plugins per host: 1,000 variants of echo against echo alone;
#   - the message path and many plugins again on PostgreSQL + RabbitMQ (a fresh database);
# then prints every figure as one table: measured, baseline, ratio, target, met.
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

# Every bench records its figures here; the one table at the end is printed from them.
SUMMARY="$(mktemp --suffix=.jsonl)"
export BENCH_SUMMARY="$SUMMARY"
# PostgreSQL + RabbitMQ: a fresh database and a queue prefix of this run's own.
RUN_ID="bench$(date +%s)"
on_postgres() {
  # The run's databases: the one named here and one per host the benches started on it.
for db in $(psql -h 127.0.0.1 -U postgres -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'agenthost_${RUN_ID}%'"); do
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" >/dev/null
done
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE agenthost_$RUN_ID" >/dev/null
  BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:5432/agenthost_$RUN_ID" \
    BENCH_QUEUE_URL="amqp://guest:guest@127.0.0.1:5672/%2f" \
    BENCH_AGENTHOST_QUEUE_PREFIX="${RUN_ID}_$1" "${@:2}"
}

# `--workspace` with the bench's name, not `-p`: the same feature set as the test build,
# so nothing is compiled twice.
cargo bench --workspace --bench invoke
cargo bench --workspace --bench pipeline
on_postgres pipeline cargo bench --workspace --bench pipeline
cargo bench --workspace --bench many
on_postgres many cargo bench --workspace --bench many
# The run's databases: the one named here and one per host the benches started on it.
for db in $(psql -h 127.0.0.1 -U postgres -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'agenthost_${RUN_ID}%'"); do
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" >/dev/null
done

# The one table: every figure of this run, its baseline from the same run, the ratio, and
# the target it is held to (issue 18).
python3 - "$SUMMARY" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def num(v, unit=""):
    if v is None:
        return "—"
    if v != v:  # NaN: not measured
        return "not measured"
    text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"
    return f"{text} {unit}".strip()
print("\n## agenthost bench: every figure of this run\n")
print("| figure | setup | measured | baseline (same run) | ratio | target | met |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    base = "—" if r["baseline"] is None else f'{r["baseline_name"]}: {num(r["baseline"], r["unit"])}'
    ratio = "—" if r["ratio"] is None else f'{r["ratio"]:.2f}×'
    met = {True: "yes", False: "**no**", None: "—"}[r["met"]]
    print(f'| {r["figure"]} | {r["setup"]} | {num(r["value"], r["unit"])} | {base} | {ratio} | {r["goal"] or ""} | {met} |')
missed = [r for r in rows if r["met"] is False]
print(f"\n{len(rows)} figures, {sum(r['met'] is True for r in rows)} targets met, {len(missed)} missed; docs/performance.md gives the measured cause of each miss.")
PY
