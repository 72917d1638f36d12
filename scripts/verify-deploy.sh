#!/usr/bin/env bash
# Post-deploy verification of a running agenthost, against any base URL: health and
# readiness, a signed test SMS through the real webhook path from a dry-run sender, its
# processing (admin events API), the scheduler and queue consumers (admin state API), and
# with --kube the pods and the LoadBalancer Service. Cloud Build runs it after every
# deploy (cloudbuild.yaml) and rolls back when it fails; operators can run it by hand:
#
#   TWILIO_AUTH_TOKEN=... AGENTHOST_ADMIN_TOKEN=... VERIFY_TO=+15550001111 \
#   VERIFY_FROM=+15550009999 scripts/verify-deploy.sh --base-url http://127.0.0.1:8080
#
# Usage: scripts/verify-deploy.sh --base-url URL [--public-url URL] [--kube NAMESPACE]
#                                 [--timeout SECONDS]
# Prints `ok <check>` / `FAIL <check>: <why>` per check; exits non-zero if any failed.
# The checks themselves are in scripts/verify_deploy.py (Python standard library only).
set -euo pipefail
command -v python3 >/dev/null || { echo "verify-deploy: python3 is required" >&2; exit 2; }
exec python3 "$(dirname "${BASH_SOURCE[0]}")/verify_deploy.py" "$@"
