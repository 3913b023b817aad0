"""A batch is projected with one executemany per statement (projectors/writes.py); it
must leave exactly what projecting its events one at a time would."""

import random

from sqlalchemy import select

from bench.workload import Workload
from domain.events import EventType as T
from projections.event_store import ingest
from projections.rebuild import rebuild
from projections.schema import contact_tags, contacts
from tests.journey_harness import event
from tests.projections.test_rebuild import at, mixed_stream, snapshot


def shuffled_history() -> list:
    """Busy, realistic contacts, recorded in a scrambled order, so the same rows are
    written many times within one batch, newer before older as often as not."""
    stream = [
        *Workload(contacts=25, events_per_contact=20, prefix="batch").stream(),
        *mixed_stream(),
    ]
    random.Random(7).shuffle(stream)
    return stream


def test_one_big_batch_equals_one_event_at_a_time(engine):
    stream = shuffled_history()
    for e in stream:
        ingest(engine, [e])
    with engine.connect() as conn:
        one_at_a_time = snapshot(conn)
    assert len(one_at_a_time["contacts"]) == 28

    # rebuild projects the whole store (under its page size) as a single batch.
    assert len(stream) < 1000
    with engine.begin() as conn:
        rebuild(conn)
    with engine.connect() as conn:
        assert snapshot(conn) == one_at_a_time


def test_uneven_batches_equal_a_rebuild(engine):
    stream = shuffled_history()
    rng = random.Random(11)
    start = 0
    while start < len(stream):
        size = rng.choice((1, 2, 7, 50, 300))
        ingest(engine, stream[start : start + size])
        start += size
    with engine.connect() as conn:
        batched = snapshot(conn)
    with engine.begin() as conn:
        rebuild(conn)
    with engine.connect() as conn:
        assert snapshot(conn) == batched


def test_newest_email_wins_within_one_batch_whatever_the_order(engine):
    ingest(
        engine,
        [
            event(
                "c1",
                T.CONTACT_UPDATED,
                {"email": "new@example.com", "phone": "+15550002222"},
                occurred_at=at(20),
            ),
            event(
                "c1",
                T.CONTACT_UPDATED,
                {"email": "old@example.com", "phone": "+15550001111"},
                occurred_at=at(10),
            ),
            event(
                "c1",
                T.FORM_SUBMITTED,
                {"form_id": "f", "fields": {"email": "older@example.com"}},
                occurred_at=at(5),
            ),
        ],
    )
    with engine.connect() as conn:
        row = conn.execute(select(contacts.c.email, contacts.c.phone)).one()
    assert tuple(row) == ("new@example.com", "+15550002222")


def test_a_cleared_phone_is_mirrored_as_null(engine):
    ingest(
        engine,
        [
            event("c1", T.CONTACT_CREATED, {"phone": "+15550001111"}, occurred_at=at(0)),
            event("c1", T.CONTACT_UPDATED, {"phone": None}, occurred_at=at(1)),
        ],
    )
    with engine.connect() as conn:
        assert conn.execute(select(contacts.c.phone)).scalar_one() is None


def test_on_a_tie_the_later_recorded_event_wins_within_one_batch(engine):
    # Same occurred_at: store order decides, as it would one event at a time.
    ingest(
        engine,
        [
            event("c1", T.TAG_ADDED, {"tag": "vip"}, occurred_at=at(3)),
            event("c1", T.TAG_REMOVED, {"tag": "vip"}, occurred_at=at(3)),
            event("c2", T.TAG_REMOVED, {"tag": "vip"}, occurred_at=at(3)),
            event("c2", T.TAG_ADDED, {"tag": "vip"}, occurred_at=at(3)),
        ],
    )
    with engine.connect() as conn:
        present = dict(
            conn.execute(select(contact_tags.c.contact_id, contact_tags.c.present)).all()
        )
    assert present == {"c1": False, "c2": True}
