"""Only a migration command migrates, under a lock; every other process checks the schema
revision at start and refuses one it cannot work with. Each test gets a database of its
own (`fresh_database_url`): a new SQLite file, or a new PostgreSQL database on that lane."""

import multiprocessing

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import column, select, table, update

from projections import schema_version
from projections.database import Migrated, make_engine, migrate
from projections.schema_version import (
    COMPATIBLE_NEWER,
    MIGRATIONS,
    SchemaBehind,
    SchemaUnknown,
    check_schema,
    head,
    is_known,
    script,
)
from settings import Settings
from tests.projections.test_migrations import differences

ALEMBIC_VERSION = table("alembic_version", column("version_num"))
HEAD = head()
PREVIOUS = script().get_revision(HEAD).down_revision
FUTURE = "9999_from_a_newer_release"


@pytest.fixture
def fresh(fresh_database_url):
    engine = make_engine(fresh_database_url)
    yield engine
    engine.dispose()


def upgrade_to(engine, revision: str) -> None:
    """What an older release's migration left behind."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def stamp(engine, revision: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(ALEMBIC_VERSION).values(version_num=revision))


def revisions(engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(select(ALEMBIC_VERSION.c.version_num)).scalars().all()


def settings_for(engine, tmp_path) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path,
        database_url=engine.url.render_as_string(hide_password=False),
    )


def test_an_empty_database_is_refused_until_migrated(fresh):
    with pytest.raises(SchemaBehind) as refused:
        check_schema(fresh)
    assert str(refused.value) == (
        f"database has no schema yet, this release needs revision "
        f"{HEAD}: run `dripstone db migrate`"
    )
    assert migrate(fresh) == Migrated(None, HEAD)
    assert check_schema(fresh) == HEAD
    assert migrate(fresh) == Migrated(HEAD, HEAD)


def test_worker_and_api_refuse_a_database_one_revision_behind_and_leave_it(
    fresh, tmp_path, monkeypatch
):
    from api.app import from_environment
    from worker import open_and_migrate, open_database

    upgrade_to(fresh, PREVIOUS)
    message = (
        f"database is at revision {PREVIOUS}, this release needs {HEAD}: "
        "run `dripstone db migrate`"
    )
    with pytest.raises(SchemaBehind) as refused:
        open_database(settings_for(fresh, tmp_path))
    assert str(refused.value) == message

    monkeypatch.setenv("DATABASE_URL", fresh.url.render_as_string(hide_password=False))
    with pytest.raises(SchemaBehind) as refused:
        from_environment()
    assert str(refused.value) == message
    assert revisions(fresh) == [PREVIOUS]  # checked, never migrated

    # The function for the places that may migrate (dev stack, db migrate) brings it up.
    open_and_migrate(settings_for(fresh, tmp_path)).dispose()
    assert revisions(fresh) == [HEAD]
    open_database(settings_for(fresh, tmp_path)).dispose()


def test_a_newer_revision_this_release_does_not_know_is_refused(fresh, tmp_path, monkeypatch):
    """Version skew: a database a newer release migrated. Refused by check and migrate
    alike with a message (not alembic's "Can't locate revision"), unless listed compatible."""
    from worker import open_database

    migrate(fresh)
    stamp(fresh, FUTURE)
    with pytest.raises(SchemaUnknown) as refused:
        open_database(settings_for(fresh, tmp_path))
    assert str(refused.value) == (
        f"database is at revision {FUTURE}, which this release does not know (its newest is "
        f"{HEAD}): a newer release has migrated it; run that release, or one that lists "
        f"{FUTURE} in COMPATIBLE_NEWER"
    )
    with pytest.raises(SchemaUnknown):
        migrate(fresh)
    assert revisions(fresh) == [FUTURE]

    monkeypatch.setattr(schema_version, "COMPATIBLE_NEWER", frozenset({FUTURE}))
    assert check_schema(fresh) == FUTURE
    open_database(settings_for(fresh, tmp_path)).dispose()
    assert migrate(fresh) == Migrated(FUTURE, FUTURE)  # nothing for an older release to do
    assert revisions(fresh) == [FUTURE]


def test_revisions_listed_compatible_come_from_newer_releases():
    assert all(not is_known(revision) for revision in COMPATIBLE_NEWER)


def _migrate_when_all_are_ready(url: str, ready, results) -> None:
    """One process of the race: connect, wait for the others, migrate."""
    engine = make_engine(url)
    try:
        with engine.connect():  # connected before the barrier, so all start at once
            pass
        ready.wait(timeout=60)
        results.put(migrate(engine))
    except BaseException as exc:  # noqa: BLE001 - the parent reports it
        results.put(repr(exc))
    finally:
        engine.dispose()


def test_migrations_started_together_on_an_empty_database_all_succeed(fresh_database_url):
    """Four processes migrating an empty database at the same instant (without the lock,
    the losers fail with "table alembic_version already exists" or UniqueViolation): they
    take turns, one migrates and the others find the work done. Processes, not threads:
    Alembic keeps its running environment in module globals."""
    # Fresh interpreters (no threads or connections inherited from this one), forked from
    # a server that has imported this module once instead of four times.
    spawn = multiprocessing.get_context("forkserver")
    spawn.set_forkserver_preload([__name__])
    ready, results = spawn.Barrier(4), spawn.Queue()
    processes = [
        spawn.Process(target=_migrate_when_all_are_ready, args=(fresh_database_url, ready, results))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=180) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert sorted(outcomes, key=lambda r: getattr(r, "before", None) or "") == (
        [Migrated(None, HEAD)] + [Migrated(HEAD, HEAD)] * 3
    )
    engine = make_engine(fresh_database_url)
    try:
        assert revisions(engine) == [HEAD]
        assert check_schema(engine) == HEAD
        assert differences(engine) == []
    finally:
        engine.dispose()
