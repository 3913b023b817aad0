# shellcheck shell=bash
# Shared helpers for the toolchain scripts. Sourced, never executed.
#
# Convention: scripts print their *result* (a path, KEY=value lines) on stdout
# and everything else on stderr, so callers can capture results with $(...).

set -euo pipefail

# Repo root = parent of this folder. Derived from the script location rather
# than `git rev-parse` so it also works in an exported tarball.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC2034  # used by the scripts that source this file
TOOLCHAIN="$ROOT/toolchain"

# One cache shared by every clone on the machine, so a fresh clone reuses the
# expensive downloads/builds (temporal CLI, Maven jars, uv).
CACHE="${DRIPSTONE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dripstone}"
mkdir -p "$CACHE"

# Every `uv run` in (and below) these scripts installs exactly uv.lock and
# never rewrites it, even if pyproject.toml was edited without re-locking.
export UV_FROZEN=1

log() { printf '[dripstone] %s\n' "$*" >&2; }
die() { printf '[dripstone] ERROR: %s\n' "$*" >&2; exit 1; }

# need TOOL [hint] — fail early, naming the prerequisite, instead of letting a
# later step die with a confusing "command not found".
need() {
  command -v "$1" >/dev/null 2>&1 || die "required tool '$1' not found on PATH${2:+ ($2)}"
}

# A free TCP port on loopback (the kernel picks it; tiny race is acceptable).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_port PORT SECONDS — true once something accepts TCP on 127.0.0.1:PORT.
wait_for_port() {
  local port=$1 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    # bash's /dev/tcp avoids depending on nc/ss being installed.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  return 1
}
