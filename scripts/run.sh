#!/usr/bin/env bash
# Install what is missing, build the host and the agents, and run `agenthost serve` on the
# embedded default (SQLite + embedded queue under ./data, plugins from dist/plugins).
# Extra arguments go to `agenthost` instead (default: serve), with the same environment:
#   scripts/run.sh chat +15550001112     # text the Landlord Rep from this terminal
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agenthost/target}"

# Only what serving needs: the agents (not the test-only hostile plugins) and the binary.
scripts/build-plugins.sh --agents-only
cargo build --release -p agenthost

# Laptop defaults; anything already set in the environment wins. Without real Twilio
# credentials nothing can reach Twilio: outbound texts go to the local sink (printed
# below as conversation lines, marked delivered-locally, visible in the console).
export AGENTHOST_LISTEN="${AGENTHOST_LISTEN:-127.0.0.1:8080}"
export AGENTHOST_ADMIN_LISTEN="${AGENTHOST_ADMIN_LISTEN:-127.0.0.1:8081}"
export AGENTHOST_DATA_DIR="${AGENTHOST_DATA_DIR:-data}"
export AGENTHOST_PLUGIN_DIR="${AGENTHOST_PLUGIN_DIR:-dist/plugins}"
export AGENTHOST_PLUGIN_CONFIG_DIR="${AGENTHOST_PLUGIN_CONFIG_DIR:-config/plugins}"
export AGENTHOST_ROUTES="${AGENTHOST_ROUTES:-+15550001111=echo,+15550001112=landlord-rep,+15550001113=locator,+15550001114=insurance}"
if [ -z "${TWILIO_ACCOUNT_SID:-}" ]; then
  export AGENTHOST_SMS_SINK="${AGENTHOST_SMS_SINK:-local}"
  export AGENTHOST_TWILIO_API_BASE="${AGENTHOST_TWILIO_API_BASE:-http://127.0.0.1:9}"
fi
export TWILIO_ACCOUNT_SID="${TWILIO_ACCOUNT_SID:-AC00000000000000000000000000000000}"
export TWILIO_AUTH_TOKEN="${TWILIO_AUTH_TOKEN:-dev-auth-token}"

# The admin API and the console need a token: when none is set, `serve` makes a one-time
# token and keeps it in the data directory (mode 0600) for `agenthost chat` and the CLI.
TOKEN_FILE="$AGENTHOST_DATA_DIR/admin-token"
if [ -z "${AGENTHOST_ADMIN_TOKEN:-}" ] && [ -z "${AGENTHOST_ADMIN_TOKENS:-}" ]; then
  if [ "${1:-serve}" = serve ]; then
    mkdir -p "$AGENTHOST_DATA_DIR"
    (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(24))' >"$TOKEN_FILE")
  fi
  [ -r "$TOKEN_FILE" ] && AGENTHOST_ADMIN_TOKEN="$(cat "$TOKEN_FILE")" && export AGENTHOST_ADMIN_TOKEN
fi
if [ "${1:-serve}" = serve ]; then
  cat <<MSG

  agenthost on the embedded default
  console:     http://$AGENTHOST_ADMIN_LISTEN/admin/ui
  admin token: ${AGENTHOST_ADMIN_TOKEN:-(as set in AGENTHOST_ADMIN_TOKENS)}
  text an agent from another terminal:
    scripts/run.sh chat +15550001112     (Landlord Rep; …1111 echo, …1113 Locator, …1114 Insurance)
  outbound SMS: ${AGENTHOST_SMS_SINK:-twilio}

MSG
fi

exec "$CARGO_TARGET_DIR/release/agenthost" "${@:-serve}"
