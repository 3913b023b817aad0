"""The projector: read models follow events, and the newest occurred_at always wins."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from domain.events import EventType as T
from projections.contacts import load_snapshot
from projections.event_store import ingest
from projections.schema import contact_attributes, contact_tags, contacts, sent_messages
from tests.journey_harness import contact, event

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def snapshot(engine, contact_id="c1"):
    with engine.connect() as conn:
        return load_snapshot(conn, contact_id)


def contact_row(engine, contact_id="c1"):
    with engine.connect() as conn:
        return conn.execute(select(contacts).where(contacts.c.contact_id == contact_id)).one()


def test_unknown_contact_has_no_snapshot(engine):
    assert snapshot(engine, "ghost") is None


def test_contact_created_sets_email_phone_and_attributes(engine):
    ingest(
        engine,
        contact(
            "c1",
            email="ann@example.com",
            phone="+4915112345678",
            first_name="Ann",
            age=34,
            prefs={"news": True},
        ),
    )
    snap = snapshot(engine)
    assert snap.email == "ann@example.com"
    assert snap.phone == "+4915112345678"
    assert snap.attributes["first_name"] == "Ann"
    assert snap.attributes["age"] == 34
    assert snap.attributes["prefs"] == {"news": True}
    row = contact_row(engine)
    assert (row.email, row.phone) == ("ann@example.com", "+4915112345678")


def test_contact_updated_changes_only_what_it_names(engine):
    ingest(
        engine,
        [
            event(
                "c1",
                T.CONTACT_CREATED,
                {"email": "a@example.com", "attributes": {"first_name": "Ann", "city": "Rome"}},
                occurred_at=at(0),
            ),
            event(
                "c1",
                T.CONTACT_UPDATED,
                {"phone": "+15550001111", "attributes": {"city": "Oslo"}},
                occurred_at=at(1),
            ),
        ],
    )
    snap = snapshot(engine)
    assert snap.email == "a@example.com"
    assert snap.phone == "+15550001111"
    assert snap.attributes["first_name"] == "Ann"
    assert snap.attributes["city"] == "Oslo"


def test_attribute_set_to_null_is_cleared(engine):
    ingest(
        engine,
        [
            event(
                "c1",
                T.CONTACT_CREATED,
                {"email": "a@example.com", "attributes": {"city": "Rome", "plan": "pro"}},
                occurred_at=at(0),
            ),
            event(
                "c1",
                T.CONTACT_UPDATED,
                {"email": None, "attributes": {"city": None}},
                occurred_at=at(1),
            ),
        ],
    )
    snap = snapshot(engine)
    assert "city" not in snap.attributes
    assert snap.attributes["plan"] == "pro"
    assert snap.email is None
    assert contact_row(engine).email is None


def test_form_fields_land_as_attributes_and_on_the_contact(engine):
    ingest(
        engine,
        [
            event(
                "c1",
                T.FORM_SUBMITTED,
                {
                    "form_id": "signup",
                    "fields": {
                        "email": "ann@example.com",
                        "phone": "+15550002222",
                        "first_name": "Ann",
                        "consent": True,
                    },
                },
            )
        ],
    )
    snap = snapshot(engine)
    assert snap.attributes["first_name"] == "Ann"
    assert snap.attributes["consent"] is True
    assert snap.email == "ann@example.com"
    assert snap.phone == "+15550002222"
    assert "form_id" not in snap.attributes


def test_tags_are_added_and_removed(engine):
    ingest(
        engine,
        [
            event("c1", T.TAG_ADDED, {"tag": "vip"}, occurred_at=at(0)),
            event("c1", T.TAG_ADDED, {"tag": "lead"}, occurred_at=at(1)),
            event("c1", T.TAG_REMOVED, {"tag": "lead"}, occurred_at=at(2)),
        ],
    )
    assert snapshot(engine).tags == frozenset({"vip"})
    ingest(engine, [event("c1", T.TAG_ADDED, {"tag": "lead"}, occurred_at=at(3))])
    assert snapshot(engine).tags == frozenset({"vip", "lead"})


def test_message_sent_fills_sent_messages(engine):
    ingest(
        engine,
        [
            event(
                "c1",
                T.MESSAGE_SENT,
                {
                    "channel": "email",
                    "message_key": "journey/welcome/c1/e1/hello/1",
                    "flow_id": "welcome",
                    "step_id": "hello",
                    "to": "ann@example.com",
                    "provider_message_id": "sg-1",
                },
                occurred_at=at(5),
            )
        ],
    )
    with engine.connect() as conn:
        row = conn.execute(select(sent_messages)).one()
    assert row.message_key == "journey/welcome/c1/e1/hello/1"
    assert (row.contact_id, row.channel, row.flow_id, row.step_id) == (
        "c1",
        "email",
        "welcome",
        "hello",
    )
    assert row.to_address == "ann@example.com"
    assert row.provider_message_id == "sg-1"
    assert row.sent_at == at(5)


def test_same_message_key_is_recorded_once(engine):
    payload = {"channel": "sms", "message_key": "k1", "to": "+15550003333"}
    ingest(
        engine,
        [
            event("c1", T.MESSAGE_SENT, payload, occurred_at=at(1)),
            event("c1", T.MESSAGE_SENT, {**payload, "to": "+15559999999"}, occurred_at=at(2)),
        ],
    )
    with engine.connect() as conn:
        rows = conn.execute(select(sent_messages)).all()
    assert [(r.message_key, r.to_address) for r in rows] == [("k1", "+15550003333")]


def test_older_update_arriving_late_does_not_overwrite_newer_value(engine):
    newer = event(
        "c1",
        T.CONTACT_UPDATED,
        {"email": "new@example.com", "attributes": {"plan": "pro"}},
        occurred_at=at(10),
    )
    older = event(
        "c1",
        T.CONTACT_UPDATED,
        {"email": "old@example.com", "attributes": {"plan": "free", "city": "Rome"}},
        occurred_at=at(5),
    )
    ingest(engine, [newer])
    ingest(engine, [older])
    snap = snapshot(engine)
    assert snap.attributes["plan"] == "pro"
    assert snap.email == "new@example.com"
    assert contact_row(engine).email == "new@example.com"
    assert snap.attributes["city"] == "Rome"  # nothing newer touched it
    with engine.connect() as conn:
        changed = conn.execute(
            select(contact_attributes.c.changed_at).where(contact_attributes.c.name == "plan")
        ).scalar_one()
    assert changed == at(10)


def test_older_clear_arriving_late_does_not_clear_newer_value(engine):
    ingest(
        engine,
        [
            event("c1", T.CONTACT_UPDATED, {"attributes": {"city": "Oslo"}}, occurred_at=at(10)),
            event("c1", T.CONTACT_UPDATED, {"attributes": {"city": None}}, occurred_at=at(5)),
        ],
    )
    assert snapshot(engine).attributes["city"] == "Oslo"


def test_older_form_submission_does_not_overwrite_newer_email(engine):
    ingest(
        engine,
        [
            event("c1", T.CONTACT_UPDATED, {"email": "new@example.com"}, occurred_at=at(10)),
            event(
                "c1",
                T.FORM_SUBMITTED,
                {"form_id": "f", "fields": {"email": "old@example.com"}},
                occurred_at=at(1),
            ),
        ],
    )
    assert snapshot(engine).email == "new@example.com"
    assert contact_row(engine).email == "new@example.com"


def test_older_tag_removal_arriving_late_keeps_the_tag(engine):
    ingest(engine, [event("c1", T.TAG_ADDED, {"tag": "vip"}, occurred_at=at(10))])
    ingest(engine, [event("c1", T.TAG_REMOVED, {"tag": "vip"}, occurred_at=at(5))])
    assert snapshot(engine).tags == frozenset({"vip"})
    with engine.connect() as conn:
        row = conn.execute(select(contact_tags)).one()
    assert (row.present, row.changed_at) == (True, at(10))


def test_older_tag_add_arriving_late_does_not_resurrect_a_removed_tag(engine):
    ingest(engine, [event("c1", T.TAG_REMOVED, {"tag": "vip"}, occurred_at=at(10))])
    ingest(engine, [event("c1", T.TAG_ADDED, {"tag": "vip"}, occurred_at=at(5))])
    assert snapshot(engine).tags == frozenset()


def test_created_at_is_the_earliest_occurred_at_and_last_event_at_the_latest(engine):
    ingest(
        engine,
        [
            event("c1", T.TAG_ADDED, {"tag": "a"}, occurred_at=at(30)),
            event("c1", T.CONTACT_CREATED, {}, occurred_at=at(10)),
            event("c1", T.TAG_ADDED, {"tag": "b"}, occurred_at=at(20)),
            event("c1", T.TAG_ADDED, {"tag": "c"}, occurred_at=at(40)),
        ],
    )
    ingest(engine, [event("c1", T.CUSTOM, {"name": "late"}, occurred_at=at(1))])
    row = contact_row(engine)
    assert row.created_at == at(1)
    assert row.last_event_at == at(40)
    assert snapshot(engine).created_at == at(1)


def test_contacts_are_kept_apart(engine):
    ingest(
        engine,
        contact("c1", email="a@example.com", tags=("vip",), plan="pro")
        + contact("c2", email="b@example.com", plan="free"),
    )
    assert snapshot(engine, "c1").attributes["plan"] == "pro"
    assert snapshot(engine, "c2").attributes["plan"] == "free"
    assert snapshot(engine, "c2").tags == frozenset()
