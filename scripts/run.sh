#!/usr/bin/env bash
# Install what is missing, build the host and every plugin, and run `agenthost serve` on
# the embedded default (SQLite + embedded queue under ./data, plugins from dist/plugins).
# Extra arguments go to `agenthost` (default: serve).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agenthost/target}"

scripts/build-plugins.sh
cargo build --release -p agenthost

# Laptop defaults; anything already set in the environment wins. The placeholder Twilio
# credentials and the loopback API base mean nothing can reach Twilio by accident:
# replies wait in the outbox (retried with backoff) until real credentials are set.
# Public listener (Twilio webhooks) and the admin one (admin API, /metrics, /readyz).
export AGENTHOST_LISTEN="${AGENTHOST_LISTEN:-127.0.0.1:8080}"
export AGENTHOST_ADMIN_LISTEN="${AGENTHOST_ADMIN_LISTEN:-127.0.0.1:8081}"
export AGENTHOST_DATA_DIR="${AGENTHOST_DATA_DIR:-data}"
export AGENTHOST_PLUGIN_DIR="${AGENTHOST_PLUGIN_DIR:-dist/plugins}"
export AGENTHOST_PLUGIN_CONFIG_DIR="${AGENTHOST_PLUGIN_CONFIG_DIR:-config/plugins}"
export AGENTHOST_ROUTES="${AGENTHOST_ROUTES:-+15550001111=echo,+15550001112=landlord-rep,+15550001113=locator,+15550001114=insurance}"
export TWILIO_ACCOUNT_SID="${TWILIO_ACCOUNT_SID:-AC00000000000000000000000000000000}"
export TWILIO_AUTH_TOKEN="${TWILIO_AUTH_TOKEN:-dev-auth-token}"
export AGENTHOST_TWILIO_API_BASE="${AGENTHOST_TWILIO_API_BASE:-http://127.0.0.1:9}"

exec "$CARGO_TARGET_DIR/release/agenthost" "${@:-serve}"
