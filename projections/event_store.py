"""Append-only event store. The unique event_id makes every append idempotent, the
global position orders events, and the projector runs in the same transaction so a
read model never disagrees with the events it was built from."""

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select

from domain.events import ContactEvent
from domain.sms_keywords import consequences, opting_in
from projections import dispatches, projector
from projections.bulk import insert_returning
from projections.dialect import insert
from projections.dispatch_bell import BELL
from projections.event_rows import row_to_event
from projections.schema import channel_status, events

# Picks, inside the append's transaction, the new events that need a dispatch record.
Routable = Callable[[Connection, list[ContactEvent]], list[ContactEvent]]


def append(
    conn: Connection,
    batch: Iterable[ContactEvent],
    *,
    dispatch: bool = False,
    fast_path: bool = True,
    routable: Routable | None = None,
) -> list[ContactEvent]:
    """Append and project; returns only the events that were new (duplicates are no-ops).
    With `dispatch`, each new event also gets a dispatch record (projections/dispatches.py)
    in this same transaction: events from outside must reach journeys, even if routing
    fails after the commit. Events journeys write (message.sent, webhook.responded...)
    take the same path with `fast_path=False`: due at once for the dispatcher, which the
    writing activity wakes (activities never route themselves). `routable` narrows the
    records to the events that can reach a journey (see routing/ingestion.py); the
    others are stored and projected, with nothing to route.

    One multi-row INSERT for the whole batch: a round trip per event is what made large
    batches slow, above all on PostgreSQL. ON CONFLICT DO NOTHING RETURNING names exactly
    the rows this transaction inserted, so a retried event is never projected twice.

    A STOP or START reply stored here brings its subscription change along, whatever its
    source (domain/sms_keywords.py): stored, projected and routed with the batch, but not
    returned, which is the events given."""
    unique = _first_of_each_id(batch)
    if not unique:
        return []
    recorded_at = datetime.now(UTC)
    position_of = _insert(conn, unique, recorded_at)
    appended = [e for e in unique if e.event_id in position_of]
    # Only replies this call stored: a redelivered "yes" must not resubscribe anyone.
    derived = consequences(appended, _sms_opted_out(conn, opting_in(appended)))
    if derived:
        position_of |= _insert(conn, derived, recorded_at)
    stored = sorted(
        appended + [e for e in derived if e.event_id in position_of],
        key=lambda e: position_of[e.event_id],
    )
    # Position order is the store's order, so read models see what a rebuild would see.
    projector.apply(conn, stored)
    if dispatch:
        chosen = stored if routable is None else routable(conn, stored)
        dispatches.record(conn, chosen, position_of, recorded_at, fast_path)
    return sorted(appended, key=lambda e: position_of[e.event_id])


def _insert(conn: Connection, batch: list[ContactEvent], recorded_at: datetime) -> dict[str, int]:
    """event_id -> position of the events this call inserted (not those stored before)."""
    rows = [
        {
            "event_id": e.event_id,
            "type": e.type,
            "schema_version": e.schema_version,
            "contact_id": e.contact_id,
            "occurred_at": e.occurred_at,
            "recorded_at": recorded_at,
            "source": e.source,
            "payload": e.payload,
        }
        for e in batch
    ]
    statement = (
        insert(conn, events)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(events.c.event_id, events.c.position)
    )
    # Multi-row INSERT ... RETURNING pages (projections/bulk.py), not one per event.
    return dict(insert_returning(conn, statement, rows))


def _sms_opted_out(conn: Connection, contact_ids: set[str]) -> set[str]:
    if not contact_ids:
        return set()
    S = channel_status.c
    return set(
        conn.execute(
            select(S.contact_id).where(
                S.contact_id.in_(sorted(contact_ids)),
                S.channel == "sms",
                S.list_id == "",
                S.unsubscribed.is_(True),
            )
        ).scalars()
    )


def _first_of_each_id(batch: Iterable[ContactEvent]) -> list[ContactEvent]:
    """Drop repeats of an event_id within the batch, keeping the first, as separate
    appends in batch order would; it also keeps one statement from inserting a key twice."""
    seen: dict[str, ContactEvent] = {}
    for event in batch:
        seen.setdefault(event.event_id, event)
    return list(seen.values())


def ingest(
    engine: Engine, batch: Iterable[ContactEvent], *, dispatch: bool = False, fast_path: bool = True
) -> list[ContactEvent]:
    with engine.begin() as conn:
        appended = append(conn, batch, dispatch=dispatch, fast_path=fast_path)
    if appended and dispatch and not fast_path:
        BELL.ring()  # after the commit, so the dispatcher finds the rows
    return appended


def ingest_routable(
    engine: Engine, batch: Iterable[ContactEvent], routable: Routable
) -> tuple[list[ContactEvent], list[ContactEvent]]:
    """(the events appended, those of them given a dispatch record)."""
    chosen: list[ContactEvent] = []

    def remember(conn: Connection, appended: list[ContactEvent]) -> list[ContactEvent]:
        chosen.extend(routable(conn, appended))
        return chosen

    with engine.begin() as conn:
        appended = append(conn, batch, dispatch=True, routable=remember)
    return appended, chosen


def ingest_for_dispatch(engine: Engine, batch: Iterable[ContactEvent]) -> list[ContactEvent]:
    """What journeys write (message.sent, webhook.responded, script.*, contact changes):
    stored with a dispatch record due at once, and the dispatcher woken; the one way in
    for events, without the writer routing anything itself."""
    return ingest(engine, batch, dispatch=True, fast_path=False)


def read_all(
    conn: Connection, after_position: int = 0, page_size: int = 1000
) -> Iterator[ContactEvent]:
    """Every event in global order, paged so a rebuild never loads the whole store."""
    while True:
        rows = conn.execute(
            select(events)
            .where(events.c.position > after_position)
            .order_by(events.c.position)
            .limit(page_size)
        ).all()
        if not rows:
            return
        for row in rows:
            yield row_to_event(row)
        after_position = rows[-1].position


def read_contact(conn: Connection, contact_id: str) -> list[ContactEvent]:
    rows = conn.execute(
        select(events).where(events.c.contact_id == contact_id).order_by(events.c.position)
    ).all()
    return [row_to_event(row) for row in rows]
