"""The Alembic migrations build exactly the schema the code declares."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import column, inspect, select, table

from projections.database import migrate
from projections.schema import metadata

ALEMBIC_VERSION = table("alembic_version", column("version_num"))


def differences(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "compare_server_default": True})
        return compare_metadata(context, metadata)


def revisions(engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(select(ALEMBIC_VERSION.c.version_num)).scalars().all()


def test_migrated_schema_matches_the_declared_metadata(engine):
    assert differences(engine) == []


def test_every_declared_table_exists_with_its_indexes(engine):
    inspector = inspect(engine)
    assert set(metadata.tables) <= set(inspector.get_table_names())
    assert {ix["name"] for ix in inspector.get_indexes("events")} >= {"ix_events_contact_id_position"}


def test_migrating_twice_is_a_no_op(engine):
    assert revisions(engine) == ["0001"]
    migrate(engine)
    migrate(engine)
    assert revisions(engine) == ["0001"]
    assert differences(engine) == []
