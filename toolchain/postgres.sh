#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the test suite's PostgreSQL lane.
#
#   postgres.sh start      -> prints DATABASE_URL=... and PGDATA_DIR=... on stdout
#   postgres.sh stop DIR   -> stops that cluster and deletes DIR
#
# Fresh temp dir, random loopback port, trust auth, durability off: fast,
# isolated from any system cluster, and nothing to clean up but one dir.
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DB_NAME=dripstone_test
MARKER_NAME=.dripstone-postgres   # proves a dir is ours before `stop` deletes it

# Newest installed server version's bin dir (Debian layout), or empty.
find_pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [[ -n "$d" && -x "$d/initdb" ]] && echo "$d"
}

ensure_pg_bin() {
  local bin
  if ! bin=$(find_pg_bin); then
    ((EUID == 0)) || die "PostgreSQL server (initdb) not found under /usr/lib/postgresql/*/bin; install the 'postgresql' package (needs root)"
    command -v apt-get >/dev/null || die "PostgreSQL server not found and apt-get unavailable; install PostgreSQL server binaries"
    log "PostgreSQL server not found; installing it with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y postgresql >&2
    bin=$(find_pg_bin) || die "apt-get install postgresql did not provide initdb"
  fi
  echo "$bin"
}

# initdb/postgres refuse to run as root, so as root run them as the
# `postgres` system user (created by the Debian package); otherwise as us.
as_owner() {
  # From /: the postgres user may not be allowed into the caller's working directory.
  if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

cmd_start() {
  need python3 "needed to pick a free port"
  # Globals, not locals: the EXIT trap below runs after this function returns.
  bin=$(ensure_pg_bin)
  if ((EUID == 0)) && ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  fi

  dir=$(mktemp -d "${TMPDIR:-/tmp}/dripstone-pg.XXXXXX")
  touch "$dir/$MARKER_NAME"
  ((EUID == 0)) && chown -R postgres: "$dir"
  # From here on, never leave a half-started cluster behind.
  # (EXIT rather than ERR: ERR traps are not reliable inside functions.)
  trap 'as_owner "$bin/pg_ctl" stop -D "$dir/data" -m immediate >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

  # Superuser named "postgres" whoever runs this, so the URL is the same.
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; false; }
  # Trust only the unix socket and IPv4 loopback; nothing else.
  printf '%s\n' 'local all all trust' 'host all all 127.0.0.1/32 trust' >"$dir/data/pg_hba.conf"

  port=$(free_port)
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >&2 \
    || { cat "$dir/server.log" >&2; false; }
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB_NAME"

  trap - EXIT
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"
  echo "DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$port/$DB_NAME"
  echo "PGDATA_DIR=$dir"
}

cmd_stop() {
  local dir=${1:-} bin
  [[ -n "$dir" ]] || die "usage: $0 stop PGDATA_DIR"
  [[ -d "$dir" ]] || { log "$dir already gone"; return 0; }
  [[ -f "$dir/$MARKER_NAME" ]] || die "$dir was not created by postgres.sh start; refusing to delete it"
  if bin=$(find_pg_bin) && [[ -f "$dir/data/postmaster.pid" ]]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || log "pg_ctl stop failed; removing $dir anyway"
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) shift; cmd_stop "$@" ;;
  *) die "usage: $0 start | stop PGDATA_DIR" ;;
esac
