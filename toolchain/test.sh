#!/usr/bin/env bash
# The test command: set up tools, lint, then run pytest twice —
#   0. lint (ruff check and ruff format --check, the import-linter contracts in pyproject.toml, mypy strict on domain/)
#   1. SQLite lane   (no DATABASE_URL; tests make their own temp sqlite files)
#   2. PostgreSQL lane (throwaway cluster from postgres.sh; skips devserver tests)
# Extra arguments go to both pytest runs. Exits non-zero if lint or either lane fails.
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

t=$SECONDS
UV=$(bash "$TOOLCHAIN/python.sh")
DRIPSTONE_TEMPORAL_BIN=$(bash "$TOOLCHAIN/temporal_cli.sh")
DRIPSTONE_TEST_SERVER_BIN=$(bash "$TOOLCHAIN/test_server.sh")
DRIPSTONE_CHROMIUM_BIN=$(bash "$TOOLCHAIN/chromium.sh")
export DRIPSTONE_TEMPORAL_BIN DRIPSTONE_TEST_SERVER_BIN DRIPSTONE_CHROMIUM_BIN
setup_s=$((SECONDS - t))
log "setup done in ${setup_s}s (temporal: $DRIPSTONE_TEMPORAL_BIN, test server: $DRIPSTONE_TEST_SERVER_BIN, chromium: $DRIPSTONE_CHROMIUM_BIN)"
cd "$ROOT"

log "===== lint: ruff, import contracts, types (strict on domain/) ====="
t=$SECONDS
lint_rc=0
"$UV" run --frozen ruff check . || lint_rc=$?
"$UV" run --frozen ruff format --check . || lint_rc=$?
"$UV" run --frozen lint-imports --no-cache || lint_rc=$?
"$UV" run --frozen mypy domain || lint_rc=$?
lint_s=$((SECONDS - t))

log "===== lane: sqlite ====="
t=$SECONDS
sqlite_rc=0
env -u DATABASE_URL DRIPSTONE_TEST_LANE=sqlite "$UV" run pytest "$@" || sqlite_rc=$?
sqlite_s=$((SECONDS - t))

log "===== lane: postgres ====="
t=$SECONDS
pg_rc=0
if pg_out=$(bash "$TOOLCHAIN/postgres.sh" start); then
  DATABASE_URL=$(sed -n 's/^DATABASE_URL=//p' <<<"$pg_out")
  PGDATA_DIR=$(sed -n 's/^PGDATA_DIR=//p' <<<"$pg_out")
  # Always tear the cluster down, whatever happens to pytest (or Ctrl-C).
  trap 'bash "$TOOLCHAIN/postgres.sh" stop "$PGDATA_DIR"' EXIT
  # Our -m comes first so a caller's own -m (last one wins) can override it.
  DATABASE_URL=$DATABASE_URL DRIPSTONE_TEST_LANE=postgres \
    "$UV" run pytest -m "not devserver" "$@" || pg_rc=$?
else
  log "could not start PostgreSQL; postgres lane counts as failed"
  pg_rc=1
fi
pg_s=$((SECONDS - t))

log "===== summary ====="
log "setup    ${setup_s}s"
log "lint     ${lint_s}s  $( ((lint_rc == 0)) && echo PASS || echo "FAIL (exit $lint_rc)")"
log "sqlite   ${sqlite_s}s  $( ((sqlite_rc == 0)) && echo PASS || echo "FAIL (exit $sqlite_rc)")"
log "postgres ${pg_s}s  $( ((pg_rc == 0)) && echo PASS || echo "FAIL (exit $pg_rc)")"
((lint_rc == 0 && sqlite_rc == 0 && pg_rc == 0))
