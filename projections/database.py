"""Engine creation and migrations; SQLite file by default, PostgreSQL via DATABASE_URL.

Migrating (Alembic's commands, the read models' rebuild) is imported only by `migrate`:
processes that only open the database, such as CLI commands, do not load it."""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from projections.schema_version import (
    MIGRATIONS as _MIGRATIONS,
)
from projections.schema_version import (
    check_schema,
    current_revision,
    is_known,
    migration_lock,
    problem,
    script,
)

# Revisions that add or reshape read models. Upgrading across one replays the store, so
# the new tables hold what the events already stored imply. The replay runs here, after
# the upgrade, with the projector that matches the head schema: a migration that ran
# today's projector would break once a later revision changed the tables it writes.
REBUILD_AFTER = frozenset({"0003"})


def _normalise(url: str) -> str:
    # psycopg 3 is the only PostgreSQL driver we ship; accept the plain scheme too.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, pool_size: int = 10, max_overflow: int = 10) -> Engine:
    """`pool_size` / `max_overflow`: PostgreSQL connections per process (SQLite opens
    one per use); size them so every replica together stays under the server's limit."""
    url = _normalise(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)


def open_checked(url: str, pool_size: int = 10, max_overflow: int = 10) -> Engine:
    """An engine on `url` once its schema is one this release works with; else
    SchemaBehind / SchemaUnknown saying what to do. Never migrates (see `migrate`)."""
    engine = make_engine(url, pool_size, max_overflow)
    try:
        check_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets the worker's activity threads read while the API appends; the busy
    # timeout turns brief writer contention into a wait instead of an error.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@dataclass(frozen=True)
class Migrated:
    before: str | None  # None: the database had no schema
    after: str


def migrate(engine: Engine) -> Migrated:
    """Bring the schema to the newest Alembic revision (idempotent). Runs under the
    migration lock, so processes migrating at once wait for each other; the revision is
    read under the lock, so the later ones find the work done. Only `dripstone db
    migrate`, the dev stack and tests call this; other processes use check_schema."""
    from alembic import command
    from alembic.config import Config

    from projections.rebuild import rebuild

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with migration_lock(engine) as conn:
        before = current_revision(conn)
        if before is not None and not is_known(before):
            # A newer release migrated it: nothing to do if listed compatible, else refused.
            error = problem(before)
            if error is not None:
                raise error
            return Migrated(before, before)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        # A fresh database (before is None) has no events to replay.
        if before is not None and REBUILD_AFTER & _applied_since(before):
            rebuild(conn)
        return Migrated(before, current_revision(conn))


def _applied_since(revision: str) -> set[str]:
    return {step.revision for step in script().iterate_revisions("heads", revision)}
