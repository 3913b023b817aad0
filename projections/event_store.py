"""Append-only event store. The unique event_id makes every append idempotent, the
global position orders events, and the projector runs in the same transaction so a
read model never disagrees with the events it was built from."""

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select

from domain.events import ContactEvent
from projections import projector
from projections.dialect import insert
from projections.schema import events


def append(conn: Connection, batch: Iterable[ContactEvent]) -> list[ContactEvent]:
    """Append and project; returns only the events that were new (duplicates are no-ops)."""
    appended = []
    recorded_at = datetime.now(UTC)
    for event in batch:
        statement = (
            insert(conn, events)
            .values(
                event_id=event.event_id, type=event.type, schema_version=event.schema_version,
                contact_id=event.contact_id, occurred_at=event.occurred_at,
                recorded_at=recorded_at, source=event.source, payload=event.payload,
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(events.c.position)
        )
        if conn.execute(statement).first() is not None:
            projector.apply(conn, event)
            appended.append(event)
    return appended


def ingest(engine: Engine, batch: Iterable[ContactEvent]) -> list[ContactEvent]:
    with engine.begin() as conn:
        return append(conn, batch)


def _row_to_event(row) -> ContactEvent:
    return ContactEvent(
        event_id=row.event_id, type=row.type, schema_version=row.schema_version,
        contact_id=row.contact_id, occurred_at=row.occurred_at, source=row.source,
        payload=row.payload,
    )


def read_all(conn: Connection, after_position: int = 0, page_size: int = 1000) -> Iterator[ContactEvent]:
    """Every event in global order, paged so a rebuild never loads the whole store."""
    while True:
        rows = conn.execute(
            select(events).where(events.c.position > after_position)
            .order_by(events.c.position).limit(page_size)
        ).all()
        if not rows:
            return
        for row in rows:
            yield _row_to_event(row)
        after_position = rows[-1].position


def read_contact(conn: Connection, contact_id: str) -> list[ContactEvent]:
    rows = conn.execute(
        select(events).where(events.c.contact_id == contact_id).order_by(events.c.position)
    ).all()
    return [_row_to_event(row) for row in rows]
