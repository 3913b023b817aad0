#!/usr/bin/env bash
# `make demo`: set up Python + the temporal CLI, then hand over to
# `dripstone dev`, which runs the dev server, worker and demo itself.
# Extra arguments are passed to `dripstone dev`.
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

UV=$(bash "$TOOLCHAIN/python.sh")
TEMPORAL_BIN=$(bash "$TOOLCHAIN/temporal_cli.sh")
cd "$ROOT"
# exec: signals (Ctrl-C) go straight to dripstone, no shell in between.
exec "$UV" run dripstone dev --temporal-bin "$TEMPORAL_BIN" "$@"
