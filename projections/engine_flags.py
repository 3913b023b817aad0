"""Facts about the engine's own state (table engine_flags): set by a migration or an
operation, cleared when what they wait for is done."""

from datetime import UTC, datetime

from sqlalchemy import Connection, delete, select

from projections.dialect import insert
from projections.schema import engine_flags

JOURNEY_INDEX_INCOMPLETE = "journey_index_incomplete"


def is_set(conn: Connection, name: str) -> bool:
    return (
        conn.execute(select(engine_flags.c.name).where(engine_flags.c.name == name)).first()
        is not None
    )


def set_flag(conn: Connection, name: str) -> None:
    conn.execute(
        insert(conn, engine_flags)
        .values(name=name, set_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["name"])
    )


def clear(conn: Connection, name: str) -> None:
    conn.execute(delete(engine_flags).where(engine_flags.c.name == name))
