#!/usr/bin/env python3
"""Post-deploy verification of a running agenthost: its public and its admin listener.

Usage: scripts/verify-deploy.sh [--base-url URL] [--admin-url URL] [--public-url URL]
                                [--kube NAMESPACE] [--timeout SECONDS]

  --base-url   where the test webhook goes: the PUBLIC listener, through the load
               balancer (https://<host> in a cluster). Default: with --kube the deployed
               AGENTHOST_PUBLIC_URL, else http://127.0.0.1:8080.
  --admin-url  the ADMIN listener (/admin/*, /readyz, /healthz), default
               http://127.0.0.1:8081. Never exposed publicly: reach it through
               `kubectl port-forward svc/agenthost-admin 9090` (http://127.0.0.1:9090).
               The admin token is only ever sent over https:// or to a loopback address:
               an http:// URL to any other host is refused before anything is sent.
  --public-url the URL Twilio signs (AGENTHOST_PUBLIC_URL); default: read from the
               cluster with --kube, else --base-url.

Environment: TWILIO_AUTH_TOKEN (signs the test webhook), VERIFY_ADMIN_TOKEN or else
AGENTHOST_ADMIN_TOKEN (admin API: a named token with scope `read` is enough), VERIFY_TO
(a number routed to an agent, e.g. +15550001111), VERIFY_FROM (a dry-run sender: in
AGENTHOST_DRY_RUN_NUMBERS, so replies are processed, never sent). Optional: KUBECTL
(path to kubectl, default `kubectl`).

Checks, each printed as `ok <check>` or `FAIL <check>: <why>`; exits 1 if any failed:
  kube ...       (only with --kube) every agenthost pod Ready, zero restarts, no
                 CrashLoopBackOff/OOMKilled, one scheduler pod, each role running; the
                 Gateway programmed with an address and only HTTPS listeners, its route
                 accepted; no agenthost Service reachable from outside the cluster (the
                 admin one ClusterIP); AGENTHOST_PUBLIC_URL https:// and its host
                 resolving to the Gateway; VERIFY_FROM a dry-run number
  admin healthz, admin readyz   on the admin URL
  public surface   /admin/state, /metrics and /readyz do NOT answer on the public URL
  public http closed  (with --kube) plain http:// to the public host is not served
  webhook        a test SMS signed exactly as Twilio signs it, through POST /twilio/sms
  event          the event is processed: GET /admin/events/<MessageSid> reaches status
                 "done" with replies, every one "suppressed" (dry-run sender)
  state          GET /admin/state: the scheduler has upcoming jobs, every lane has consumers

Standard library only (runs in any image with python3).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HTTP_TIMEOUT = 10.0
ROLES = ("web", "worker", "scheduler")


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def ok(self, check: str, detail: str = "") -> None:
        self.passed += 1
        print(f"ok {check}" + (f" ({detail})" if detail else ""), flush=True)

    def fail(self, check: str, why: str) -> None:
        self.failed += 1
        print(f"FAIL {check}: {why}", flush=True)


# ---- HTTP ------------------------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers to check, never followed (a token must not travel on)."""

    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def http(method: str, url: str, *, headers=None, body: bytes | None = None, timeout: float = HTTP_TIMEOUT):
    """(status, body bytes); status 0 with the error text when there is no answer."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with OPENER.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        return 0, f"no answer: {reason}".encode()


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def admin_url_refusal(url: str) -> str | None:
    """Why the admin token must not be sent to `url` (None: https, or http to loopback)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return None
    if parts.scheme == "http":
        return (f"--admin-url {url} is plain http:// to a non-loopback host: the admin token would "
                "cross the network in clear text. Use https://, or port-forward the admin Service "
                "(kubectl port-forward svc/agenthost-admin 9090) and http://127.0.0.1:9090")
    return f"--admin-url {url} is not an http(s) URL"


def answer(status: int, body: bytes) -> str:
    """`503: {"ready": false}` or, when nothing answered, why."""
    return f"{status}: {snippet(body)}" if status else snippet(body)


def snippet(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")
    return text[:limit] + ("..." if len(text) > limit else "")


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's X-Twilio-Signature: base64(HMAC-SHA1(token, url + sorted name+value))."""
    data = url + "".join(k + params[k] for k in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# ---- Kubernetes ------------------------------------------------------------------------


def kubectl_json(args: list[str]):
    kubectl = os.environ.get("KUBECTL", "kubectl")
    try:
        out = subprocess.run(
            [kubectl, *args, "-o", "json"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError(f"{kubectl} {' '.join(args)}: {e}") from e
    if out.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def check_pods(r: Report, ns: str) -> None:
    try:
        pods = kubectl_json(["get", "pods", "-n", ns, "-l", "app.kubernetes.io/name=agenthost"])
    except (RuntimeError, ValueError) as e:
        for check in ("kube pods ready", "kube zero restarts", "kube no crashloop/oom"):
            r.fail(check, str(e))
        return
    # Pods already being deleted (the old ReplicaSet's, after a rollout) do not count.
    items = [p for p in pods.get("items", []) if not p["metadata"].get("deletionTimestamp")]
    if not items:
        r.fail("kube pods ready", f"no agenthost pods in namespace {ns}")
        return
    not_ready, restarts, crashing = [], [], []
    per_role: dict[str, int] = {}
    for p in items:
        name = p["metadata"]["name"]
        role = p["metadata"].get("labels", {}).get("app.kubernetes.io/component", "?")
        per_role[role] = per_role.get(role, 0) + 1
        conds = {c["type"]: c["status"] for c in p.get("status", {}).get("conditions", [])}
        if p.get("status", {}).get("phase") != "Running" or conds.get("Ready") != "True":
            not_ready.append(f"{name} (phase {p.get('status', {}).get('phase')})")
        for cs in p.get("status", {}).get("containerStatuses", []):
            if cs.get("restartCount", 0) > 0:
                restarts.append(f"{name}/{cs['name']}: {cs['restartCount']}")
            states = [cs.get("state", {}), cs.get("lastState", {})]
            for st in states:
                reason = (st.get("waiting") or st.get("terminated") or {}).get("reason", "")
                if reason in ("CrashLoopBackOff", "OOMKilled"):
                    crashing.append(f"{name}/{cs['name']}: {reason}")
    counts = ", ".join(f"{k}={v}" for k, v in sorted(per_role.items()))
    missing = [role for role in ROLES if per_role.get(role, 0) == 0]
    if not_ready or missing:
        why = []
        if not_ready:
            why.append("not ready: " + ", ".join(not_ready))
        if missing:
            why.append("no pod for role " + ", ".join(missing))
        r.fail("kube pods ready", "; ".join(why))
    else:
        r.ok("kube pods ready", counts)
    if restarts:
        r.fail("kube zero restarts", ", ".join(restarts))
    else:
        r.ok("kube zero restarts")
    if crashing:
        r.fail("kube no crashloop/oom", ", ".join(sorted(set(crashing))))
    else:
        r.ok("kube no crashloop/oom")
    if per_role.get("scheduler", 0) > 1:
        r.fail("kube one scheduler", f"{per_role['scheduler']} scheduler pods (must be 1)")
    elif per_role.get("scheduler", 0) == 1:
        r.ok("kube one scheduler")


def conditions(obj) -> dict[str, str]:
    return {c.get("type"): c.get("status") for c in (obj.get("status") or {}).get("conditions") or []}


def check_edge(r: Report, ns: str) -> list[str]:
    """The Gateway (HTTPS only, programmed, with an address), its route, and no Service
    reachable from outside; returns the Gateway's addresses."""
    addrs: list[str] = []
    try:
        gws = kubectl_json(["get", "gateways.gateway.networking.k8s.io", "-n", ns,
                            "-l", "app.kubernetes.io/name=agenthost"])
        routes = kubectl_json(["get", "httproutes.gateway.networking.k8s.io", "-n", ns,
                               "-l", "app.kubernetes.io/name=agenthost"])
    except (RuntimeError, ValueError) as e:
        r.fail("kube gateway", str(e))
    else:
        problems = []
        items = gws.get("items", [])
        if not items:
            problems.append(f"no agenthost Gateway in {ns}")
        for g in items:
            name = g["metadata"]["name"]
            plain = [l.get("name") for l in g.get("spec", {}).get("listeners", []) if l.get("protocol") != "HTTPS"]
            if plain:
                problems.append(f"{name}: non-HTTPS listener(s) {plain}")
            if conditions(g).get("Programmed") != "True":
                problems.append(f"{name}: not Programmed ({conditions(g)})")
            found = [a.get("value") for a in (g.get("status") or {}).get("addresses") or [] if a.get("value")]
            if not found:
                problems.append(f"{name}: no address yet")
            addrs += found
        for rt in routes.get("items", []):
            for parent in (rt.get("status") or {}).get("parents") or []:
                conds = {c.get("type"): c.get("status") for c in parent.get("conditions") or []}
                if conds.get("Accepted") != "True" or conds.get("ResolvedRefs", "True") != "True":
                    problems.append(f"HTTPRoute {rt['metadata']['name']}: {conds}")
        if problems:
            r.fail("kube gateway", "; ".join(problems))
        else:
            r.ok("kube gateway", f"HTTPS only, programmed, {', '.join(addrs)}")
    try:
        svcs = kubectl_json(["get", "services", "-n", ns, "-l", "app.kubernetes.io/name=agenthost"])
    except (RuntimeError, ValueError) as e:
        r.fail("kube services internal", str(e))
        return addrs
    outside = [
        f"{s['metadata']['name']} ({s['spec'].get('type')})" for s in svcs.get("items", [])
        if s.get("spec", {}).get("type") in ("LoadBalancer", "NodePort") or s.get("spec", {}).get("externalIPs")
    ]
    names = {s["metadata"]["name"] for s in svcs.get("items", [])}
    if outside:
        r.fail("kube services internal", "reachable from outside the cluster: " + ", ".join(outside))
    elif "agenthost-admin" not in names:
        r.fail("kube services internal", f"no Service agenthost-admin in {ns}")
    else:
        r.ok("kube services internal", ", ".join(sorted(names)) + ": ClusterIP")
    return addrs


def deployed_env(ns: str, var: str) -> str | None:
    """The value the web Deployment gives `var` (literal, or its ConfigMap key)."""
    deps = kubectl_json(
        ["get", "deployments", "-n", ns, "-l", "app.kubernetes.io/name=agenthost,app.kubernetes.io/component=web"]
    )
    for d in deps.get("items", []):
        for c in d["spec"]["template"]["spec"]["containers"]:
            for e in c.get("env", []):
                if e["name"] != var:
                    continue
                if "value" in e:
                    return e["value"]
                ref = e.get("valueFrom", {}).get("configMapKeyRef")
                if ref:
                    cm = kubectl_json(["get", "configmap", "-n", ns, ref["name"]])
                    return cm.get("data", {}).get(ref["key"])
    return None


# ---- the checks over HTTP ----------------------------------------------------------------


def check_get(r: Report, check: str, url: str) -> None:
    status, body = http("GET", url)
    if status == 200:
        r.ok(check)
    else:
        r.fail(check, f"GET {url} -> {answer(status, body)}")


def check_public_surface(r: Report, base: str) -> None:
    """The public URL serves Twilio's paths only: the admin API, metrics and readiness
    must not answer there (401/403 would mean the admin API itself is reachable)."""
    exposed = []
    for path in ("/admin/state", "/metrics", "/readyz"):
        status, body = http("GET", base + path)
        if status == 0:
            r.fail("public surface", f"GET {base}{path}: {answer(status, body)}")
            return
        if status in (200, 401, 403):
            exposed.append(f"{path} -> {status}")
    if exposed:
        r.fail("public surface", f"the admin listener answers on the public URL {base}: " + ", ".join(exposed))
    else:
        r.ok("public surface", "/admin, /metrics, /readyz not served")


def check_http_closed(r: Report, public: str) -> None:
    """Nothing but a redirect to https answers plain http:// on the public host."""
    host = urllib.parse.urlsplit(public).netloc
    url = f"http://{host}/twilio/sms"
    status, body = http("POST", url, body=b"", timeout=5.0)
    if status == 0:
        r.ok("public http closed", f"no answer on {url}")
    elif status in (301, 302, 307, 308):
        r.ok("public http closed", f"{status} redirect")
    else:
        r.fail("public http closed", f"POST {url} -> {answer(status, body)}: a plain-HTTP listener "
               "serves the webhook path (Gateway listeners must all be HTTPS)")


def check_dns(r: Report, public: str, addrs: list[str]) -> None:
    host = urllib.parse.urlsplit(public).hostname or ""
    try:
        resolved = sorted({ai[4][0] for ai in socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)})
    except OSError as e:
        r.fail("public dns", f"{host}: {e}")
        return
    if addrs and not set(resolved) & set(addrs):
        r.fail("public dns", f"{host} resolves to {resolved}, the Gateway's address is {addrs}")
    else:
        r.ok("public dns", f"{host} -> {', '.join(resolved)}")


def send_test_sms(r: Report, base: str, public: str, token: str, to: str, frm: str) -> str | None:
    sid = "SM" + secrets.token_hex(16)
    params = {
        "MessageSid": sid,
        "AccountSid": "AC" + secrets.token_hex(16),
        "From": frm,
        "To": to,
        "Body": f"deploy verification {sid}",
    }
    signature = twilio_signature(token, public + "/twilio/sms", params)
    status, body = http(
        "POST",
        base + "/twilio/sms",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
        body=urllib.parse.urlencode(params).encode(),
    )
    if status == 200:
        r.ok("webhook", sid)
        return sid
    hint = " (403: is --public-url exactly AGENTHOST_PUBLIC_URL, and the token right?)" if status == 403 else ""
    r.fail("webhook", f"POST {base}/twilio/sms -> {answer(status, body)}{hint}")
    return None


def check_event(r: Report, admin_url: str, token: str, sid: str | None, timeout: float) -> None:
    if sid is None:
        r.fail("event", "skipped: the test webhook was not accepted")
        return
    url = f"{admin_url}/admin/events/{urllib.parse.quote(sid)}"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        status, body = http("GET", url, headers=headers)
        if status == 200:
            try:
                ev = json.loads(body)
            except ValueError:
                ev = None
            if not isinstance(ev, dict):
                last = f"not a JSON object: {snippet(body)}"
            else:
                st = ev.get("status")
                replies = ev.get("replies")
                last = f"status {st!r}"
                if st == "done" and isinstance(replies, list) and replies:
                    bad = [
                        x for x in replies
                        if not (isinstance(x, dict) and "body" in x and "status" in x)
                    ]
                    sent = [
                        x.get("status") for x in replies
                        if isinstance(x, dict) and x.get("status") != "suppressed"
                    ]
                    if bad:
                        r.fail("event", f"replies without body/status: {snippet(json.dumps(bad))}")
                    elif sent:
                        r.fail(
                            "event",
                            f"reply status {sent} instead of 'suppressed': VERIFY_FROM is "
                            "not a dry-run number here, replies may really be sent",
                        )
                    else:
                        r.ok("event", f"done, {len(replies)} reply(ies) suppressed")
                    return
                if st == "done":
                    last = "status 'done' but no replies"
        elif status in (401, 403, 503):
            r.fail("event", f"GET {url} -> {answer(status, body)} (the admin token, or its scope: read is enough)")
            return
        else:
            last = f"HTTP {answer(status, body)}" if status else answer(status, body)
        if time.monotonic() >= deadline:
            r.fail("event", f"not done with replies within {timeout:g} s; last status seen: {last}")
            return
        time.sleep(1.0)


def check_state(r: Report, admin_url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    status, body = http("GET", admin_url + "/admin/state", headers=headers)
    if status != 200:
        r.fail("state", f"GET {admin_url}/admin/state -> {answer(status, body)}")
        return
    try:
        state = json.loads(body)
    except ValueError:
        r.fail("state", f"not JSON: {snippet(body)}")
        return
    if not isinstance(state, dict):
        r.fail("state", "not a JSON object")
        return
    problems = []
    sched = state.get("scheduler")
    upcoming = sched.get("upcoming") if isinstance(sched, dict) else None
    if not isinstance(upcoming, list) or not upcoming:
        problems.append("scheduler.upcoming is empty or missing (no upcoming jobs)")
    lanes = state.get("lanes")
    if not isinstance(lanes, list) or not lanes:
        problems.append("lanes is empty or missing")
    else:
        idle = [
            str(l.get("lane")) if isinstance(l, dict) else repr(l)
            for l in lanes
            if not (isinstance(l, dict) and isinstance(l.get("consumers"), int) and l["consumers"] >= 1)
        ]
        if idle:
            problems.append("lanes without consumers: " + ", ".join(idle))
    if problems:
        r.fail("state", "; ".join(problems))
    else:
        r.ok("state", f"{len(upcoming)} upcoming job(s), {len(lanes)} lane(s) consumed")


# ---- main ------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="verify-deploy.sh",
        description="Verify a deployed agenthost end to end (see the header of scripts/verify_deploy.py).",
    )
    ap.add_argument("--base-url", help="the public listener, where the test webhook goes; default: "
                    "the deployed AGENTHOST_PUBLIC_URL with --kube, else http://127.0.0.1:8080")
    ap.add_argument("--admin-url", default="http://127.0.0.1:8081",
                    help="the admin listener (https://, or http:// to a loopback address only; "
                    "default http://127.0.0.1:8081)")
    ap.add_argument("--public-url", help="the URL Twilio signs (AGENTHOST_PUBLIC_URL); default: "
                    "read from the cluster with --kube, else --base-url")
    ap.add_argument("--kube", metavar="NAMESPACE", help="also check the pods, Gateway and Services in this namespace")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the event (default 30)")
    args = ap.parse_args(argv)

    admin = args.admin_url.rstrip("/")
    refusal = admin_url_refusal(admin)
    if refusal:
        print(f"verify-deploy: {refusal}", file=sys.stderr)
        return 2
    env = {k: os.environ.get(k, "").strip() for k in ("TWILIO_AUTH_TOKEN", "VERIFY_TO", "VERIFY_FROM")}
    env["admin token"] = (os.environ.get("VERIFY_ADMIN_TOKEN", "").strip()
                          or os.environ.get("AGENTHOST_ADMIN_TOKEN", "").strip())
    missing = [k if k != "admin token" else "VERIFY_ADMIN_TOKEN (or AGENTHOST_ADMIN_TOKEN)"
               for k, v in env.items() if not v]
    if missing:
        print(f"verify-deploy: set {', '.join(missing)} (see --help)", file=sys.stderr)
        return 2
    token = env["admin token"]
    base = args.base_url.rstrip("/") if args.base_url else None
    public = args.public_url.rstrip("/") if args.public_url else None

    r = Report()
    # With --kube, the test SMS is only sent once VERIFY_FROM is confirmed to be a dry-run
    # number of the deployed configuration: otherwise the agent's replies would be sent.
    may_send = True
    gateway_addrs: list[str] = []
    if args.kube:
        check_pods(r, args.kube)
        gateway_addrs = check_edge(r, args.kube)
        try:
            deployed_public = (deployed_env(args.kube, "AGENTHOST_PUBLIC_URL") or "").rstrip("/") or None
            dry = deployed_env(args.kube, "AGENTHOST_DRY_RUN_NUMBERS")
        except (RuntimeError, ValueError) as e:
            r.fail("kube dry-run sender", f"cannot read the deployed configuration: {e}")
            may_send = False
            deployed_public = None
        else:
            numbers = [n.strip() for n in (dry or "").split(",") if n.strip()]
            if env["VERIFY_FROM"] in numbers:
                r.ok("kube dry-run sender", env["VERIFY_FROM"])
            else:
                r.fail("kube dry-run sender", f"VERIFY_FROM {env['VERIFY_FROM']} is not in "
                       f"AGENTHOST_DRY_RUN_NUMBERS ({dry!r}): its replies would really be sent")
                may_send = False
        if deployed_public and deployed_public.startswith("https://"):
            r.ok("kube public url https", deployed_public)
        else:
            r.fail("kube public url https", f"AGENTHOST_PUBLIC_URL is {deployed_public!r}: Twilio must call "
                   "an https:// URL (the Gateway's)")
        public = public or deployed_public
        base = base or deployed_public
    base = base or "http://127.0.0.1:8080"
    public = public or base
    print(f"verify-deploy: public {base} (signing for {public}/twilio/sms), admin {admin}, "
          f"{env['VERIFY_FROM']} -> {env['VERIFY_TO']}", flush=True)

    check_get(r, "admin healthz", admin + "/healthz")
    check_get(r, "admin readyz", admin + "/readyz")
    check_public_surface(r, base)
    if args.kube and base.startswith("https://"):
        check_dns(r, base, gateway_addrs)
        check_http_closed(r, base)
    if may_send:
        sid = send_test_sms(r, base, public, env["TWILIO_AUTH_TOKEN"], env["VERIFY_TO"], env["VERIFY_FROM"])
        check_event(r, admin, token, sid, args.timeout)
    else:
        r.fail("webhook", "skipped: VERIFY_FROM is not confirmed as a dry-run sender (no test SMS sent)")
        r.fail("event", "skipped: no test SMS sent")
    check_state(r, admin, token)

    print(f"verify-deploy: {r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
