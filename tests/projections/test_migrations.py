"""The Alembic migrations build exactly the schema the code declares."""

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import column, inspect, select, table, text

from projections.contacts import load_snapshot
from projections.database import _MIGRATIONS, migrate
from projections.schema import events, flow_versions, flows
from projections.tables import metadata

ALEMBIC_VERSION = table("alembic_version", column("version_num"))
HEAD = ScriptDirectory(str(_MIGRATIONS)).get_current_head()


def differences(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, metadata)


def revisions(engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(select(ALEMBIC_VERSION.c.version_num)).scalars().all()


def test_migrated_schema_matches_the_declared_metadata(engine):
    assert differences(engine) == []


def test_every_declared_table_exists_with_its_indexes(engine):
    inspector = inspect(engine)
    assert set(metadata.tables) <= set(inspector.get_table_names())
    assert {ix["name"] for ix in inspector.get_indexes("events")} >= {
        "ix_events_contact_id_position"
    }


def test_migrating_twice_is_a_no_op(engine):
    assert revisions(engine) == [HEAD]
    migrate(engine)
    migrate(engine)
    assert revisions(engine) == [HEAD]
    assert differences(engine) == []


def _alembic_config(conn) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def test_flows_published_before_drafts_get_a_name_and_creation_time(engine):
    """0002 adds NOT NULL created_at to a table that may already hold flows."""
    first, later = datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO flows (flow_id, status, current_version, updated_at) "
                "VALUES ('old', 'published', 2, :t)"
            ),
            {"t": later},
        )
        for version, name, at in ((1, "Old name", first), (2, "Welcome drip", later)):
            conn.execute(
                flow_versions.insert().values(
                    flow_id="old",
                    version=version,
                    document={"id": "old", "name": name},
                    published_at=at,
                )
            )
    migrate(engine)
    with engine.connect() as conn:
        row = conn.execute(select(flows).where(flows.c.flow_id == "old")).one()
    assert (row.name, row.created_at, row.updated_at, row.draft) == (
        "Welcome drip",
        first,
        later,
        None,
    )
    assert revisions(engine) == [HEAD]
    assert differences(engine) == []


def test_events_stored_before_0003_fill_its_read_models(engine):
    """0003 adds read models; migrate() replays the store so they hold the old events."""
    at = datetime(2026, 1, 5, tzinfo=UTC)
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0002")
    with engine.begin() as conn:
        for n, (type_, payload) in enumerate(
            [
                ("product.purchased", {"product": "ebook"}),
                ("contact.unsubscribed", {"channel": "email"}),
                ("contact.tag_added", {"tag": "vip"}),
            ]
        ):
            conn.execute(
                events.insert().values(
                    event_id=f"old-{n}",
                    type=type_,
                    schema_version=1,
                    contact_id="c1",
                    occurred_at=at,
                    recorded_at=at,
                    source="test",
                    payload=payload,
                )
            )
    migrate(engine)
    with engine.connect() as conn:
        snapshot = load_snapshot(conn, "c1")
    assert (snapshot.purchased, snapshot.products) == ({"ebook"}, {"ebook"})
    assert (snapshot.unsubscribed, snapshot.tags) == ({"email"}, {"vip"})
    assert revisions(engine) == [HEAD]
    assert differences(engine) == []


def test_a_database_with_events_is_flagged_until_its_running_journeys_are_indexed(engine):
    """0007 starts the journey index empty: journeys already running are not in it, so
    until they are indexed every event keeps its dispatch record (routing/ingestion.py)."""
    from projections.engine_flags import JOURNEY_INDEX_INCOMPLETE, is_set

    at = datetime(2026, 1, 5, tzinfo=UTC)
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0006")
    with engine.begin() as conn:
        conn.execute(
            events.insert().values(
                event_id="old-1",
                type="contact.tag_added",
                schema_version=1,
                contact_id="c1",
                occurred_at=at,
                recorded_at=at,
                source="test",
                payload={"tag": "vip"},
            )
        )
    migrate(engine)
    with engine.connect() as conn:
        assert is_set(conn, JOURNEY_INDEX_INCOMPLETE)
    assert differences(engine) == []


def test_a_fresh_database_has_a_complete_journey_index(engine):
    from projections.engine_flags import JOURNEY_INDEX_INCOMPLETE, is_set

    with engine.connect() as conn:
        assert not is_set(conn, JOURNEY_INDEX_INCOMPLETE)
