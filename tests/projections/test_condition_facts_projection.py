"""The condition read models as a whole: every event type projected, the same facts
whatever order events arrive in, rebuild reproducing them, and group-wise loading."""

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from domain.contact_change_payloads import ChangeEvent as C
from domain.events import EventType as T
from domain.payload_schemas import PAYLOAD_SCHEMAS
from projections.contacts import ALL_GROUPS, load_snapshot
from projections.event_store import ingest
from projections.rebuild import rebuild
from projections.schema import READ_MODELS
from tests.journey_harness import event

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def rich_stream(contact_id: str) -> list:
    """Every event type, with conflicting changes at distinct times, in occurred order.
    Ids and message keys carry the contact id so several copies can share one store."""
    key = f"{contact_id}:welcome:hello"
    sent = {
        "channel": "email",
        "message_key": key,
        "flow_id": "welcome",
        "step_id": "hello",
        "to": "ann@example.com",
    }
    items = [
        (T.CONTACT_CREATED, {"email": "ann@example.com", "attributes": {"plan": "free"}}),
        (
            T.FORM_SUBMITTED,
            {
                "form_id": "signup",
                "funnel": "webinars",
                "page": "landing",
                "fields": {"first_name": "Ann"},
            },
        ),
        (T.TAG_ADDED, {"tag": "lead"}),
        (T.PAGE_VISITED, {"page": "pricing"}),
        (T.MESSAGE_SENT, sent),
        (T.EMAIL_DELIVERED, {"message_key": key}),
        (T.EMAIL_OPENED, {"message_key": key}),
        (T.EMAIL_OPENED, {"message_key": key}),
        (T.EMAIL_CLICKED, {"message_key": key, "url": "https://example.com/pricing"}),
        (T.SMS_RECEIVED, {"body": "stop"}),  # the store adds its contact.unsubscribed
        (T.PRODUCT_ADDED, {"product": "ebook"}),
        (
            T.PRODUCT_PURCHASED,
            {"product": "course", "quantity": 2, "amount": 49.5, "currency": "EUR"},
        ),
        (T.SUBSCRIPTION_STARTED, {"plan": "gold"}),
        (T.COURSE_ACCOUNT_CREATED, {"platform": "tj"}),
        (T.COURSE_STARTED, {"course": "py"}),
        (T.COURSE_STEP_COMPLETED, {"course": "py", "step": "s1"}),
        (T.ACTIVE, {"platform": "tj"}),
        (T.CONTACT_UPDATED, {"attributes": {"plan": "pro"}}),
        (T.TAG_REMOVED, {"tag": "lead"}),
        (T.PRODUCT_REMOVED, {"product": "ebook"}),
        (T.RESUBSCRIBED, {"channel": "sms"}),
        (T.SUBSCRIPTION_ENDED, {"plan": "gold"}),
        (T.COURSE_COMPLETED, {"course": "py"}),
        (T.SMS_RECEIVED, {"body": "yes please"}),
        (T.FORM_SUBMITTED, {"form_id": "signup"}),
        (T.PAGE_VISITED, {"page": "pricing", "url": "/p"}),
        (T.UNSUBSCRIBED, {"channel": "email", "list_id": "news"}),
        (T.PREFERENCES_CHANGED, {"topic": "newsletter", "channel": "email", "subscribed": False}),
        (T.PREFERENCES_CHANGED, {"topic": "reminders", "channel": "sms", "subscribed": False}),
        (
            T.PREFERENCES_CHANGED,
            {
                "topic": "newsletter",
                "channel": "email",
                "subscribed": True,
                "via": "preference_page",
            },
        ),
        (T.CUSTOM, {"name": "trial_started", "properties": {"plan": "pro"}}),
        (
            T.EMAIL_BOUNCED,
            {"message_key": key, "email": "ann@example.com", "bounce_type": "bounce"},
        ),
        (T.EMAIL_SPAM_REPORTED, {"message_key": key}),
        (T.SMS_STATUS_CHANGED, {"message_sid": "SM1", "status": "delivered"}),
        (
            T.WEBHOOK_RESPONDED,
            {
                "flow_id": "welcome",
                "step_id": "hook",
                "url": "https://example.com",
                "status": 200,
                "body": "ok",
            },
        ),
        (T.SCRIPT_COMPLETED, {"script": "echo", "result": {"ok": True}}),
        (T.SCRIPT_FAILED, {"script": "echo", "reason": "boom"}),
        (
            T.JOURNEY_CONVERTED,
            {
                "flow_id": "welcome",
                "flow_version": 1,
                "goal_step": "bought",
                "step_id": "hello",
                "journey_id": f"journey/welcome/{contact_id}",
                "enrollment_id": f"{contact_id}-signup",
            },
        ),
        *contact_change_items(),
    ]
    return [
        event(
            contact_id,
            type_,
            payload,
            event_id=f"{contact_id}-{n}",
            occurred_at=T0 + timedelta(hours=n),
        )
        for n, (type_, payload) in enumerate(items)
    ]


def contact_change_items() -> list:
    """The event types of journeys' contact changes (domain.contact_change_payloads)."""
    return [
        (
            C.OFFER_SET,
            {
                "product": "course",
                "discount_percent": 20,
                "expires_at": "2024-06-01T00:00:00+00:00",
            },
        ),
        (C.MEMBERSHIP_ACCESS_CHANGED, {"site": "members", "access": "enabled"}),
        (C.ADDED_TO_LIST, {"list_type": "selection", "list_id": "vip"}),
        (C.NOTE_ADDED, {"text": "called back"}),
        (C.CRM_ACTIVITY_CREATED, {"activity": "task", "title": "Call Ann", "assignee": "bob"}),
        (C.ORDER_CANCELLED, {"order_id": "o1"}),  # before its order: details still land
        (C.ORDER_PLACED, {"order_id": "o1", "product": "course", "recurring": True}),
        (C.TRANSACTION_FAILED, {"transaction_id": "t1", "order_id": "o1", "amount": 49.5}),
        (C.TRANSACTION_RECHARGE_REQUESTED, {"transaction_id": "t1"}),
        (C.TRANSACTION_PAID, {"transaction_id": "t1"}),
        (C.OWNER_ASSIGNED, {"owner": "bob", "router": "sales"}),
        (C.OFFER_REMOVED, {"product": "course"}),
        (C.REMOVED_FROM_LIST, {"list_type": "selection", "list_id": "vip"}),
    ]


def test_the_rich_stream_has_every_event_type():
    assert {e.type for e in rich_stream("c")} == set(PAYLOAD_SCHEMAS)


def _normal(value, contact_id: str):
    """Snapshots and rows with the contact id taken out and every collection sorted."""
    text = json.dumps(value, default=str).replace(contact_id, "<contact>")
    return _sorted(json.loads(text))


def _sorted(value):
    if isinstance(value, dict):
        return {k: _sorted(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_sorted(v) for v in value), key=repr)
    return value


def _rows(conn, contact_id: str) -> dict:
    # event_id and the touch digest differ between copies by construction.
    return {
        table.name: [
            {k: v for k, v in row._mapping.items() if k not in ("event_id", "touch_key")}
            for row in conn.execute(select(table).where(table.c.contact_id == contact_id))
        ]
        for table in READ_MODELS
    }


def _facts(conn, contact_id: str):
    return (
        _normal(load_snapshot(conn, contact_id).model_dump(mode="json"), contact_id),
        _normal(_rows(conn, contact_id), contact_id),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_arrival_gives_the_same_facts(engine, seed):
    ingest(engine, rich_stream("ordered"))
    shuffled = rich_stream("shuffled")
    random.Random(seed).shuffle(shuffled)
    for start in range(0, len(shuffled), 4):  # several appends, as events really arrive
        ingest(engine, shuffled[start : start + 4])
    with engine.connect() as conn:
        assert _facts(conn, "shuffled") == _facts(conn, "ordered")
        snapshot = load_snapshot(conn, "shuffled")
    assert snapshot.last_reply == "yes please"
    assert (snapshot.products, snapshot.purchased) == (frozenset({"course"}), frozenset({"course"}))
    assert (snapshot.tags, snapshot.subscriptions, snapshot.unsubscribed) == (
        frozenset(),
        {"gold": False},
        frozenset(),
    )
    assert snapshot.courses_completed == frozenset({"py"}) and snapshot.has_course_account
    # The later opt-in to the newsletter wins, whatever the arrival order.
    assert snapshot.topics_left == frozenset({("reminders", "sms")})


def _tables(conn) -> dict[str, list[tuple]]:
    return {
        table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
        for table in READ_MODELS
    }


def test_rebuild_reproduces_every_read_model(engine):
    stream = rich_stream("a") + rich_stream("b") + rich_stream("c")
    random.Random(7).shuffle(stream)
    for start in range(0, len(stream), 10):
        ingest(engine, stream[start : start + 10])
    assert ingest(engine, stream[:15]) == []  # duplicates are no-ops
    with engine.connect() as conn:
        before = _tables(conn)
    assert all(before.values()), [name for name, rows in before.items() if not rows]
    with engine.begin() as conn:
        # Each contact's STOP reply brought its contact.unsubscribed along.
        assert rebuild(conn) == len(stream) + len({e.contact_id for e in stream})
    with engine.connect() as conn:
        assert _tables(conn) == before


def test_only_the_requested_groups_are_filled(engine):
    ingest(engine, rich_stream("c1"))
    with engine.connect() as conn:
        products = load_snapshot(conn, "c1", {"purchases"})
        nothing = load_snapshot(conn, "c1", set())
        full = load_snapshot(conn, "c1")
    assert products.purchased == frozenset({"course"})
    assert (products.tags, products.attributes, products.created_at, products.lead_events) == (
        frozenset(),
        {},
        None,
        (),
    )
    assert nothing.email == "ann@example.com" and nothing.attributes == {}
    assert full.created_at == T0 and full.attributes == {
        "plan": "pro",
        "first_name": "Ann",
        "email": "ann@example.com",
        "owner": "bob",
    }


def test_lead_events_are_read_by_name_only(engine):
    ingest(engine, rich_stream("c1"))
    with engine.connect() as conn:
        named = load_snapshot(
            conn, "c1", {"lead_events"}, lead_events={"trial_started", "sms.received"}
        )
        every = load_snapshot(conn, "c1", {"lead_events"})
    assert [e.name for e in named.lead_events] == ["sms.received", "sms.received", "trial_started"]
    assert named.lead_events[-1].properties == {"plan": "pro"}
    assert len(every.lead_events) == len(rich_stream("c1")) + 1  # the STOP's unsubscribe


def test_unknown_groups_are_refused(engine):
    ingest(engine, rich_stream("c1"))
    with engine.connect() as conn, pytest.raises(ValueError, match="unknown fact groups"):
        load_snapshot(conn, "c1", {"tags", "weather"})
    assert "weather" not in ALL_GROUPS
