"""Which schema revision a database is at, against the one this release needs.

Only `dripstone db migrate` (and the dev stack, the demo, tests and benches, which own
their databases) migrates; it does so under a database-wide lock, so migrators started
together wait for each other instead of racing. Every other process (worker, API, CLI)
checks the revision at start and refuses a database it cannot work with:

- no schema, or an older revision: run `dripstone db migrate`;
- a revision this release does not know (a newer release migrated it): refused, unless
  it is listed in COMPATIBLE_NEWER.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"

# Revisions of later releases that this release can run against: additive changes only
# (new tables, nullable columns, indexes) that leave everything this code reads and
# writes as it was. Listing one lets a rolled-back or not-yet-upgraded process start on
# a database a newer release has migrated. Add a revision here only in a release whose
# code has been checked against it.
COMPATIBLE_NEWER: frozenset[str] = frozenset()

# pg_advisory_xact_lock key held by every migration: any fixed bigint, the same in every
# release ("dripstne" in ASCII).
MIGRATION_LOCK_KEY = 0x6472697073746E65

MIGRATE_HINT = "run `dripstone db migrate`"


class SchemaError(RuntimeError):
    """The database's schema is not one this release can work with."""


class SchemaBehind(SchemaError):
    """No schema yet, or an older revision than this release's head."""


class SchemaUnknown(SchemaError):
    """A revision this release does not know, not listed as compatible."""


def script() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def head() -> str:
    return script().get_current_head()


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def is_known(revision: str) -> bool:
    try:
        return script().get_revision(revision) is not None
    except CommandError:  # alembic's ResolutionError: "No such revision or branch"
        return False


def problem(current: str | None) -> SchemaError | None:
    """Why a database at `current` cannot be used by this release; None when it can."""
    needed = head()
    if current == needed or current in COMPATIBLE_NEWER:
        return None
    if current is None:
        return SchemaBehind(
            f"database has no schema yet, this release needs revision " f"{needed}: {MIGRATE_HINT}"
        )
    if is_known(current):
        return SchemaBehind(
            f"database is at revision {current}, this release needs " f"{needed}: {MIGRATE_HINT}"
        )
    return SchemaUnknown(
        f"database is at revision {current}, which this release does not know (its newest "
        f"is {needed}): a newer release has migrated it; run that release, or one that "
        f"lists {current} in COMPATIBLE_NEWER"
    )


def check_schema(engine: Engine) -> str:
    """The database's revision, if this release can work with it; else SchemaBehind or
    SchemaUnknown, whose message says what to do."""
    with engine.connect() as conn:
        current = current_revision(conn)
    error = problem(current)
    if error is not None:
        raise error
    return current


@contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection]:
    """A transaction no other migration runs beside, held until it commits.

    PostgreSQL: a transaction-scoped advisory lock, taken before anything is read.
    SQLite: BEGIN IMMEDIATE takes the database's write lock at once (the driver would
    otherwise run DDL outside any transaction and begin one only at the first write,
    so two migrators could both find no schema and both create it); a second migrator
    waits on the busy timeout."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # The driver stops issuing its own BEGINs; the transaction is ours, and
            # commit()/rollback() end it. The pool restores the default on release.
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            with conn.begin():
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
        else:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
                yield conn
