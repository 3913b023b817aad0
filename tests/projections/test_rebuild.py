"""rebuild(): replaying the event store regenerates exactly the live read models."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from domain.events import EventType as T
from projections.event_store import ingest
from projections.rebuild import rebuild
from projections.schema import (
    READ_MODELS,
    contact_attributes,
    contact_tags,
    contacts,
    events,
    sent_messages,
)
from tests.journey_harness import event

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def mixed_stream():
    e = event
    return [
        e(
            "c1",
            T.CONTACT_CREATED,
            {"email": "ann@example.com", "attributes": {"first_name": "Ann", "plan": "free"}},
            occurred_at=at(0),
        ),
        e("c1", T.TAG_ADDED, {"tag": "lead"}, occurred_at=at(1)),
        e(
            "c2",
            T.FORM_SUBMITTED,
            {
                "form_id": "signup",
                "fields": {"email": "bob@example.com", "phone": "+15550001111", "city": "Oslo"},
            },
            occurred_at=at(2),
        ),
        e(
            "c1",
            T.CONTACT_UPDATED,
            {"attributes": {"plan": "pro", "city": "Rome"}},
            occurred_at=at(20),
        ),
        # out of order: older than what is already projected
        e(
            "c1",
            T.CONTACT_UPDATED,
            {"email": "old@example.com", "attributes": {"plan": "trial"}},
            occurred_at=at(10),
        ),
        e("c1", T.TAG_REMOVED, {"tag": "lead"}, occurred_at=at(30)),
        e("c1", T.TAG_ADDED, {"tag": "lead"}, occurred_at=at(25)),  # late, older: tag stays removed
        e("c2", T.TAG_ADDED, {"tag": "vip"}, occurred_at=at(5)),
        e(
            "c2",
            T.CONTACT_UPDATED,
            {"phone": None, "attributes": {"city": None}},
            occurred_at=at(6),
        ),
        e(
            "c1",
            T.MESSAGE_SENT,
            {
                "channel": "email",
                "message_key": "k-c1-1",
                "flow_id": "welcome",
                "step_id": "hello",
                "to": "ann@example.com",
            },
            occurred_at=at(21),
        ),
        e(
            "c2",
            T.MESSAGE_SENT,
            {
                "channel": "sms",
                "message_key": "k-c2-1",
                "to": "+15550001111",
                "provider_message_id": "tw-9",
            },
            occurred_at=at(7),
        ),
        e("c3", T.EMAIL_OPENED, {"message_key": "k-c3-0"}, occurred_at=at(40)),
        e(
            "c3",
            T.CUSTOM,
            {"name": "visited", "properties": {"page": "/pricing"}},
            occurred_at=at(3),
        ),
        e("c3", T.SMS_RECEIVED, {"body": "STOP"}, occurred_at=at(41)),
    ]


def snapshot(conn) -> dict[str, list[tuple]]:
    return {
        table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
        for table in READ_MODELS
    }


def test_rebuild_reproduces_identical_read_models(engine):
    stream = mixed_stream()
    # Several appends, as events would really arrive.
    ingest(engine, stream[:4])
    ingest(engine, stream[4:9])
    ingest(engine, stream[9:])
    with engine.connect() as conn:
        before = snapshot(conn)

    # The live models are not trivial: the late events lost against newer ones.
    assert len(before["contacts"]) == 3
    attrs = {(r[0], r[1]): r[2] for r in before["contact_attributes"]}
    assert attrs[("c1", "plan")] == "pro"
    assert attrs[("c1", "email")] == "old@example.com"  # nothing newer set the email
    assert attrs[("c2", "city")] is None
    tags = {(r[0], r[1]): r[2] for r in before["contact_tags"]}
    assert tags == {("c1", "lead"): False, ("c2", "vip"): True}
    assert len(before["sent_messages"]) == 2

    with engine.begin() as conn:
        applied = rebuild(conn)
    stored = len(stream) + 1  # c3's STOP brought its contact.unsubscribed along
    assert applied == stored

    with engine.connect() as conn:
        assert snapshot(conn) == before
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == stored


def test_rebuild_restores_damaged_read_models(engine):
    ingest(engine, mixed_stream())
    with engine.connect() as conn:
        before = snapshot(conn)
    with engine.begin() as conn:
        conn.execute(delete(contact_tags))
        conn.execute(delete(sent_messages))
        conn.execute(contact_attributes.update().values(value="corrupted"))
        conn.execute(contacts.update().values(email="wrong@example.com", created_at=at(999)))
    with engine.begin() as conn:
        rebuild(conn)
    with engine.connect() as conn:
        assert snapshot(conn) == before


def test_rebuild_rolls_back_with_its_transaction(engine):
    ingest(engine, mixed_stream())
    with engine.connect() as conn:
        before = snapshot(conn)
    try:
        with engine.begin() as conn:
            rebuild(conn)
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    with engine.connect() as conn:
        assert snapshot(conn) == before


def test_rebuild_of_an_empty_store_empties_the_read_models(engine):
    with engine.begin() as conn:
        conn.execute(
            contacts.insert().values(contact_id="stray", created_at=at(0), last_event_at=at(0))
        )
    with engine.begin() as conn:
        assert rebuild(conn) == 0
    with engine.connect() as conn:
        assert snapshot(conn) == {table.name: [] for table in READ_MODELS}
