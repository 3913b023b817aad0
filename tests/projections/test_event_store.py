"""Append-only event store: idempotent appends, global order, paged reads."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from domain.events import EventType
from projections.contacts import load_snapshot
from projections.event_store import append, ingest, read_all, read_contact
from projections.schema import contacts, events
from tests.journey_harness import contact, event

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def tagged(contact_id: str, n: int):
    return event(
        contact_id,
        EventType.TAG_ADDED,
        {"tag": f"t{n}"},
        event_id=f"{contact_id}-{n}",
        occurred_at=T0 + timedelta(minutes=n),
    )


def count(conn, table=events) -> int:
    return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_append_returns_new_events_and_stores_them(engine):
    batch = [tagged("c1", 1), tagged("c1", 2)]
    with engine.begin() as conn:
        assert append(conn, batch) == batch
        assert count(conn) == 2
        row = conn.execute(select(events).where(events.c.event_id == "c1-1")).one()
    assert row.type == "contact.tag_added"
    assert row.contact_id == "c1"
    assert row.payload == {"tag": "t1"}
    assert row.occurred_at == T0 + timedelta(minutes=1)
    assert row.source == "test"
    assert row.recorded_at.tzinfo is not None


def test_append_is_idempotent_by_event_id(engine):
    original = tagged("c1", 1)
    assert ingest(engine, [original]) == [original]
    # Same id, even with a different body, is the same event: a retry by the sender.
    retry = original.model_copy(update={"payload": {"tag": "other"}})
    assert ingest(engine, [retry]) == []
    assert ingest(engine, [original]) == []
    with engine.connect() as conn:
        assert count(conn) == 1
        assert conn.execute(select(events.c.payload)).scalar_one() == {"tag": "t1"}


def test_duplicate_within_one_batch_is_appended_once(engine):
    first, other = tagged("c1", 1), tagged("c1", 2)
    assert ingest(engine, [first, other, first]) == [first, other]
    with engine.connect() as conn:
        assert count(conn) == 2


def test_duplicate_is_not_projected_again(engine):
    ingest(engine, [tagged("c1", 1)])
    with engine.connect() as conn:
        before = conn.execute(select(contacts)).all()
    ingest(engine, [tagged("c1", 1)])
    with engine.connect() as conn:
        assert conn.execute(select(contacts)).all() == before


def test_positions_increase_in_append_order(engine):
    # occurred_at order is the reverse of append order: position follows the append.
    batch = [tagged("c1", 5), tagged("c2", 1), tagged("c1", 3)]
    ingest(engine, batch[:2])
    ingest(engine, batch[2:])
    with engine.connect() as conn:
        rows = conn.execute(
            select(events.c.event_id, events.c.position).order_by(events.c.position)
        ).all()
    assert [r.event_id for r in rows] == ["c1-5", "c2-1", "c1-3"]
    positions = [r.position for r in rows]
    assert positions == sorted(positions) and len(set(positions)) == 3


def test_read_all_pages_in_global_order(engine):
    batch = [tagged(f"c{i % 2}", i) for i in range(5)]
    ingest(engine, batch)
    with engine.connect() as conn:
        read = list(read_all(conn, page_size=2))
        assert [e.event_id for e in read] == [e.event_id for e in batch]
        assert read == batch  # round-trips exactly, timestamps stay aware
        first_two = [e.event_id for e in read_all(conn, page_size=2)][:2]
        position_of_second = conn.execute(
            select(events.c.position).where(events.c.event_id == first_two[1])
        ).scalar_one()
        rest = [e.event_id for e in read_all(conn, after_position=position_of_second, page_size=2)]
    assert rest == [e.event_id for e in batch[2:]]


def test_read_all_on_empty_store(engine):
    with engine.connect() as conn:
        assert list(read_all(conn, page_size=2)) == []


def test_read_all_with_page_size_dividing_the_store_exactly(engine):
    batch = [tagged("c1", i) for i in range(4)]
    ingest(engine, batch)
    with engine.connect() as conn:
        assert [e.event_id for e in read_all(conn, page_size=2)] == [e.event_id for e in batch]


def test_read_contact_returns_only_that_contact_in_order(engine):
    batch = [tagged("c1", 3), tagged("c2", 1), tagged("c1", 1), tagged("c2", 2)]
    ingest(engine, batch)
    with engine.connect() as conn:
        assert [e.event_id for e in read_contact(conn, "c1")] == ["c1-3", "c1-1"]
        assert [e.event_id for e in read_contact(conn, "c2")] == ["c2-1", "c2-2"]
        assert read_contact(conn, "nobody") == []


def test_a_stop_reply_brings_its_unsubscribe_but_append_returns_what_was_given(engine):
    ingest(engine, contact("sk-1", phone="+14155550101"))
    stop = event("sk-1", "sms.received", {"body": "Stop"}, event_id="relay-stop")
    assert ingest(engine, [stop]) == [stop]
    with engine.connect() as conn:
        types = [e.type for e in read_contact(conn, "sk-1")]
        assert load_snapshot(conn, "sk-1", {"channels"}).unsubscribed == {"sms"}
    assert types[-2:] == ["sms.received", "contact.unsubscribed"]


def test_a_redelivered_yes_does_not_resubscribe_someone_who_stopped_since(engine):
    ingest(engine, contact("sk-2", phone="+14155550102"))
    yes = event("sk-2", "sms.received", {"body": "yes"}, event_id="relay-yes")
    ingest(engine, [yes])  # an answer from a subscribed contact: nothing derived
    ingest(engine, [event("sk-2", "sms.received", {"body": "STOP"}, event_id="relay-stop-2")])
    assert ingest(engine, [yes]) == []  # the relay retried its old "yes"
    with engine.connect() as conn:
        types = [e.type for e in read_contact(conn, "sk-2")]
        assert load_snapshot(conn, "sk-2", {"channels"}).unsubscribed == {"sms"}
    assert "contact.resubscribed" not in types
