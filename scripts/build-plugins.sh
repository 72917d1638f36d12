#!/usr/bin/env bash
# Builds every plugin crate in plugins/ into a WebAssembly component and copies it to
# ${AGENTHOST_PLUGINS_OUT:-<repo>/dist/plugins}/<crate-name>.wasm.
#
# rustup cannot fetch wasm32 targets here, so guests are built by Debian's rustc-web 1.96
# with -Zbuild-std from Debian's rust-web-src (the matching std source), and linked by
# wasm-component-ld from rustup's own sysroot, which also turns the core module into
# a component: cargo's output .wasm is already the component. Recipe and pitfalls:
# shared/toolchain/README.md.
#
# Crates are found with `cargo metadata`: every cdylib in the plugins workspace is built,
# for wasm32-unknown-unknown (no WASI imports) unless its Cargo.toml says
#   [package.metadata.agenthost]
#   target = "wasm32-wasip2"
#
# Env: AGENTHOST_PLUGINS_TARGET_DIR  cargo target dir, outside the clone so std (built once
#                                    per target: most of a clean build) is shared by every
#                                    clone and every plugin
#      AGENTHOST_PLUGINS_OUT         where the components go
#
# `--agents-only` builds only what a host serves (the agents in dist/plugins), not the
# test-only plugins: what scripts/run.sh needs.
set -euo pipefail
AGENTS_ONLY=false
[ "${1:-}" = --agents-only ] && AGENTS_ONLY=true

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PLUGINS="$REPO/plugins"
TARGET_DIR=${AGENTHOST_PLUGINS_TARGET_DIR:-$HOME/.cache/agenthost/plugins-target}
OUT=${AGENTHOST_PLUGINS_OUT:-$REPO/dist/plugins}
# Test-only plugins (crates under plugins/testing/) go apart, so a host serving
# dist/plugins never loads a hostile plugin by accident.
TEST_OUT=${AGENTHOST_TEST_PLUGINS_OUT:-$REPO/dist/test-plugins}
WASI_LIBC=/usr/lib/wasm32-wasi
# From here on cargo and rustup act on the plugins workspace, wherever this was run from.
cd "$PLUGINS"

# ---- toolchain (idempotent: apt only runs when something is missing) ---------------------
need=()
{ [ -x /usr/bin/rustc ] && /usr/bin/rustc -V | grep -q '^rustc 1\.96'; } || need+=(rustc-web cargo-web)
[ -d /usr/lib/rustlib/src/rust/library/std ] || need+=(rust-web-src)
[ -f "$WASI_LIBC/libc.a" ] || need+=(wasi-libc)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# rustup's active toolchain (stable on our machines; the rust:1.95 image names it 1.95.0):
# any recent rustc component ships wasm-component-ld and rust-lld.
RUSTUP_BIN="$("$(rustup which rustc)" --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin"
[ -x "$RUSTUP_BIN/wasm-component-ld" ] && [ -x "$RUSTUP_BIN/rust-lld" ] || {
  echo "wasm-component-ld/rust-lld not found in $RUSTUP_BIN" >&2; exit 1; }

# wasm-component-ld links with the FIRST wasm-ld/rust-lld on PATH, and Debian's lld-14 is
# too old; rustup's proxies must not supply cargo/rustc either (hence the absolute paths).
export PATH="$RUSTUP_BIN:$PATH"
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$TARGET_DIR"
# A global RUSTFLAGS would override the per-target settings below, and any change to the
# flags rebuilds std, so both targets' settings are fixed here and set on every run.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-component-ld
export CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS="-L native=$WASI_LIBC"
CARGO=(/usr/bin/cargo)

# ---- which crates, for which target ------------------------------------------------------
# One line per cdylib crate: "<target> <package name> <artifact stem> <agent|test>".
plan=$("${CARGO[@]}" metadata --no-deps --format-version 1 | python3 -c '
import json, sys
for pkg in json.load(sys.stdin)["packages"]:
    for target in pkg["targets"]:
        if "cdylib" in target["kind"]:
            wasm = ((pkg.get("metadata") or {}).get("agenthost") or {}).get("target", "wasm32-unknown-unknown")
            kind = "test" if "/testing/" in pkg["manifest_path"] else "agent"
            print(wasm, pkg["name"], target["name"].replace("-", "_"), kind)
')
[ -n "$plan" ] || { echo "no cdylib crates in $PLUGINS" >&2; exit 1; }
if $AGENTS_ONLY; then plan=$(awk '$4 == "agent"' <<<"$plan"); fi

# ---- build: one cargo invocation per target, so cargo schedules the crates together -----
for wasm_target in $(awk '{print $1}' <<<"$plan" | sort -u); do
  # Unquoted on purpose: "-p NAME" pairs, and package names never contain spaces.
  "${CARGO[@]}" build --release --target "$wasm_target" -Zbuild-std=std,panic_abort \
    $(awk -v t="$wasm_target" '$1 == t { print "-p", $2 }' <<<"$plan")
done

# ---- copy out; unchanged components keep their mtime so downstream steps stay cached ----
mkdir -p "$OUT" "$TEST_OUT"
printf '%-22s %-24s %10s\n' plugin target bytes
while read -r wasm_target name stem kind; do
  built="$TARGET_DIR/$wasm_target/release/$stem.wasm"
  if [ "$kind" = test ]; then dest="$TEST_OUT/$name.wasm"; else dest="$OUT/$name.wasm"; fi
  cmp -s "$built" "$dest" || cp "$built" "$dest"
  printf '%-22s %-24s %10s\n' "$name" "$wasm_target" "$(stat -c %s "$dest")"
done <<<"$plan"
echo "components in $OUT (test-only: $TEST_OUT)"
