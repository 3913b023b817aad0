#!/usr/bin/env bash
# Debian's Chromium for the console's browser tests (Playwright drives it through
# executable_path; Playwright's own browser download is never used).
#
#   chromium.sh   -> prints the path of the chromium binary on stdout
#
# Idempotent: does nothing when the binary is already there. Installing needs root
# (CI runs as root in a fresh container); otherwise it names the package to install.
# DRIPSTONE_CHROMIUM_BIN, when set to an executable, is used as is.
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

BIN=${DRIPSTONE_CHROMIUM_BIN:-/usr/bin/chromium}

if [[ ! -x "$BIN" ]]; then
  ((EUID == 0)) || die "$BIN not found; install Debian's 'chromium' package (needs root)"
  command -v apt-get >/dev/null || die "$BIN not found and apt-get unavailable; install Chromium"
  log "chromium not found; installing Debian's chromium package with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt run (the PostgreSQL set-up) may hold the lock: wait for it, not fail.
  apt-get -o DPkg::Lock::Timeout=600 update >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends chromium >&2
  [[ -x "$BIN" ]] || die "apt-get install chromium did not provide $BIN"
fi

echo "$BIN"
