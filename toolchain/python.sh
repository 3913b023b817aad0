#!/usr/bin/env bash
# Ensure uv (pinned) and sync the project venv (./.venv) from uv.lock.
# Prints the path of the uv binary on stdout; callers use "$UV" run ...
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

UV_VERSION=0.13.9
UV_HOME="$CACHE/uv-$UV_VERSION"
UV="$UV_HOME/bin/uv"

if [[ ! -x "$UV" ]]; then
  need python3 "install Python 3.11+"
  python3 -c 'import ensurepip, venv' 2>/dev/null \
    || die "python3 cannot create virtual environments (on Debian: apt-get install python3-venv)"
  log "installing uv $UV_VERSION into $UV_HOME"
  # Install via pip into a private venv: needs only python3 + the package index.
  rm -rf "$UV_HOME"
  python3 -m venv "$UV_HOME"
  "$UV_HOME/bin/pip" install --quiet "uv==$UV_VERSION" >&2
  [[ -x "$UV" ]] || die "uv install into $UV_HOME failed"
fi

# --frozen: install exactly what uv.lock says, never re-resolve. Fast no-op
# when .venv is already in sync. uv's output goes to stderr (stdout = result).
# --compile-bytecode: without it every process (each `dripstone` command) compiles the
# libraries it imports from source, seconds per start (bench/cli_startup.py).
log "uv sync --frozen --compile-bytecode ($("$UV" --version))"
(cd "$ROOT" && "$UV" sync --frozen --compile-bytecode >&2)

export UV
echo "$UV"
