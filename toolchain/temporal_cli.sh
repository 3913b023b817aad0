#!/usr/bin/env bash
# Print the path to a working `temporal` CLI binary (used for the dev server).
# Order: $DRIPSTONE_TEMPORAL_BIN, `temporal` on PATH, cached build, fresh build.
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

TEMPORAL_CLI_VERSION=v1.5.1
CACHED="$CACHE/bin/temporal"

# Fail loudly if the chosen binary does not actually run.
verify() {
  "$1" --version >/dev/null 2>&1 || die "temporal binary '$1' does not run ('$1 --version' failed)"
  echo "$1"
}

if [[ -n "${DRIPSTONE_TEMPORAL_BIN:-}" ]]; then
  verify "$DRIPSTONE_TEMPORAL_BIN"; exit 0
fi
if command -v temporal >/dev/null 2>&1; then
  verify "$(command -v temporal)"; exit 0
fi

# go install copies the binary into GOBIN non-atomically, so a build running
# elsewhere (another clone, a manual warm-up) could leave a half-written file.
# Wait for any such build to finish before looking at the cache.
# (pgrep is from procps, which minimal images may lack: then skip the wait.)
while command -v pgrep >/dev/null 2>&1 &&
  pgrep -f "go install github.com/temporalio/cli/cmd/temporal" >/dev/null 2>&1; do
  log "another build of the temporal CLI is running; waiting for it"
  sleep 5
done

# Serialise our own builds across concurrent invocations (e.g. make -j).
mkdir -p "$CACHE/bin"
exec 9>"$CACHE/.temporal-build.lock"
flock 9

if [[ ! -x "$CACHED" ]] || ! "$CACHED" --version >/dev/null 2>&1; then
  need go "install Go 1.25+ (cli v1.5.1 needs it) to build the temporal CLI, or set DRIPSTONE_TEMPORAL_BIN"
  # Building from source via the Go module proxy is our only allowed route to
  # the CLI (no GitHub release downloads). Cold: ~4 min on 2 cores.
  log "building temporal CLI $TEMPORAL_CLI_VERSION with go install (several minutes, once)"
  GOBIN="$CACHE/bin" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" >&2
fi
verify "$CACHED"
