#!/usr/bin/env bash
# Post-deploy verification of a running agenthost, through both of its listeners: the
# PUBLIC one (a signed test SMS through the real webhook path, from a dry-run sender; and
# that nothing but Twilio's paths answers there) and the ADMIN one (health, readiness,
# the test event's processing, the scheduler and queue consumers), with --kube also the
# pods, the Gateway (HTTPS only) and that no Service is reachable from outside. Cloud
# Build runs it after every deploy (cloudbuild.yaml) and rolls back when it fails;
# operators can run it by hand:
#
#   kubectl -n agenthost-staging port-forward svc/agenthost-admin 9090 &
#   TWILIO_AUTH_TOKEN=... VERIFY_ADMIN_TOKEN=<a read-scope token> VERIFY_TO=+15550001111 \
#   VERIFY_FROM=+15550009999 scripts/verify-deploy.sh --kube agenthost-staging \
#     --admin-url http://127.0.0.1:9090
#
# or against a laptop (public http://127.0.0.1:8080, admin http://127.0.0.1:8081, the
# defaults). The admin token is sent only over https:// or to a loopback address: an
# http:// admin URL to any other host is refused before anything is sent.
#
# Usage: scripts/verify-deploy.sh [--base-url URL] [--admin-url URL] [--public-url URL]
#                                 [--kube NAMESPACE] [--timeout SECONDS]
# Prints `ok <check>` / `FAIL <check>: <why>` per check; exits non-zero if any failed.
# The checks themselves are in scripts/verify_deploy.py (Python standard library only).
set -euo pipefail
command -v python3 >/dev/null || { echo "verify-deploy: python3 is required" >&2; exit 2; }
exec python3 "$(dirname "${BASH_SOURCE[0]}")/verify_deploy.py" "$@"
