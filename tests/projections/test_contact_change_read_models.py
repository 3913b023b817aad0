"""Read models of journeys' contact changes: offers, memberships, lists, notes, CRM
activities, orders, transactions, lead assignments. Newest occurred_at wins whatever
the arrival order, and rebuild reproduces exactly what live projection built."""

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from domain.contact_change_payloads import ChangeEvent as C
from domain.events import EventType as T
from projections import projector
from projections.change_schema import (
    contact_notes,
    contact_offers,
    crm_activities,
    lead_assignments,
    list_memberships,
    memberships,
    orders,
    transactions,
)
from projections.contacts import load_snapshot
from projections.event_store import ingest
from projections.rebuild import rebuild
from projections.schema import READ_MODELS
from tests.journey_harness import event
from tests.projections.test_rebuild import snapshot

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def rows(engine, table, **where):
    query = select(table)
    for name, value in where.items():
        query = query.where(table.c[name] == value)
    with engine.connect() as conn:
        return [r._asdict() for r in conn.execute(query)]


def test_a_second_offer_updates_the_first_and_removal_keeps_its_terms(engine):
    ingest(
        engine,
        [
            event(
                "c1", C.OFFER_SET, {"product": "course", "discount_percent": 10}, occurred_at=at(0)
            )
        ],
    )
    ingest(
        engine,
        [
            event(
                "c1",
                C.OFFER_SET,
                {"product": "course", "discount_amount": 25, "expires_at": at(60).isoformat()},
                occurred_at=at(5),
            )
        ],
    )
    [offer] = rows(engine, contact_offers)
    assert (offer["active"], offer["discount_percent"], offer["discount_amount"]) == (
        True,
        None,
        25,
    )
    assert offer["expires_at"] == at(60)
    ingest(engine, [event("c1", C.OFFER_REMOVED, {"product": "course"}, occurred_at=at(9))])
    [offer] = rows(engine, contact_offers)
    assert (offer["active"], offer["discount_amount"]) == (False, 25)


def test_a_removal_that_arrives_before_an_older_offer_still_wins(engine):
    ingest(engine, [event("c1", C.OFFER_REMOVED, {"product": "course"}, occurred_at=at(9))])
    ingest(
        engine,
        [
            event(
                "c1", C.OFFER_SET, {"product": "course", "discount_percent": 10}, occurred_at=at(0)
            )
        ],
    )
    [offer] = rows(engine, contact_offers)
    assert (offer["active"], offer["discount_percent"]) == (False, 10)


def test_membership_and_lists_follow_the_newest_change(engine):
    ingest(
        engine,
        [
            event(
                "c1",
                C.MEMBERSHIP_ACCESS_CHANGED,
                {"site": "academy", "access": "suspended"},
                occurred_at=at(10),
            ),
            event(
                "c1",
                C.MEMBERSHIP_ACCESS_CHANGED,
                {"site": "academy", "access": "enabled"},
                occurred_at=at(1),
            ),  # late and older: stays suspended
            event(
                "c1",
                C.REMOVED_FROM_LIST,
                {"list_type": "selection", "list_id": "vip"},
                occurred_at=at(8),
            ),
            event(
                "c1",
                C.ADDED_TO_LIST,
                {"list_type": "selection", "list_id": "vip"},
                occurred_at=at(2),
            ),
            event(
                "c1",
                C.ADDED_TO_LIST,
                {"list_type": "fulfillment", "list_id": "vip"},
                occurred_at=at(3),
            ),
        ],
    )
    assert [r["access"] for r in rows(engine, memberships)] == ["suspended"]
    members = {(r["list_type"], r["list_id"]): r["member"] for r in rows(engine, list_memberships)}
    assert members == {("selection", "vip"): False, ("fulfillment", "vip"): True}


def test_notes_and_activities_are_recorded_once_per_event(engine):
    note = event(
        "c1",
        C.NOTE_ADDED,
        {"text": "wants a demo", "flow_id": "f", "step_id": "n"},
        occurred_at=at(0),
    )
    task = event(
        "c1",
        C.CRM_ACTIVITY_CREATED,
        {
            "activity": "follow_up",
            "title": "Call",
            "due_at": at(60).isoformat(),
            "assignee": "bob",
            "priority": "high",
        },
        occurred_at=at(1),
    )
    ingest(engine, [note, task])
    ingest(engine, [note, task])  # a replayed append changes nothing
    [stored_note] = rows(engine, contact_notes)
    assert (stored_note["text"], stored_note["step_id"]) == ("wants a demo", "n")
    [activity] = rows(engine, crm_activities)
    assert activity["activity_id"] == task.event_id
    assert (
        activity["activity"],
        activity["assignee"],
        activity["status"],
        activity["priority"],
        activity["due_at"],
    ) == ("follow_up", "bob", "open", "high", at(60))


def test_a_cancellation_recorded_before_its_order_keeps_the_details(engine):
    ingest(engine, [event("c1", C.ORDER_CANCELLED, {"order_id": "o1"}, occurred_at=at(10))])
    ingest(
        engine,
        [
            event(
                "c1",
                C.ORDER_PLACED,
                {"order_id": "o1", "product": "gym", "amount": 30, "recurring": True},
                occurred_at=at(0),
            )
        ],
    )
    [order] = rows(engine, orders)
    assert (order["status"], order["product"], order["amount"], order["recurring"]) == (
        "cancelled",
        "gym",
        30,
        True,
    )


def test_transactions_move_from_collections_to_recharge_and_paid(engine):
    ingest(
        engine,
        [
            event(
                "c1",
                C.TRANSACTION_FAILED,
                {"transaction_id": "t1", "amount": 9.5},
                occurred_at=at(0),
            ),
            event(
                "c1", C.TRANSACTION_RECHARGE_REQUESTED, {"transaction_id": "t1"}, occurred_at=at(5)
            ),
        ],
    )
    assert [(r["status"], r["amount"]) for r in rows(engine, transactions)] == [
        ("recharge_requested", 9.5)
    ]
    ingest(engine, [event("c1", C.TRANSACTION_PAID, {"transaction_id": "t1"}, occurred_at=at(9))])
    assert [r["status"] for r in rows(engine, transactions)] == ["paid"]


def test_an_assigned_owner_is_an_attribute_conditions_can_read(engine):
    ingest(
        engine,
        [
            event("c1", T.CONTACT_CREATED, {"attributes": {"owner": "zoe"}}, occurred_at=at(0)),
            event("c1", C.OWNER_ASSIGNED, {"owner": "ann", "router": "sales"}, occurred_at=at(5)),
        ],
    )
    with engine.connect() as conn:
        assert load_snapshot(conn, "c1", {"attributes"}).attributes["owner"] == "ann"
    ingest(
        engine,
        [event("c1", T.CONTACT_UPDATED, {"attributes": {"owner": "bob"}}, occurred_at=at(3))],
    )  # older than the assignment: ann stays
    with engine.connect() as conn:
        assert load_snapshot(conn, "c1", {"attributes"}).attributes["owner"] == "ann"
    assert [(r["router"], r["owner"]) for r in rows(engine, lead_assignments)] == [("sales", "ann")]


def change_stream() -> list:
    e = event
    return [
        e("c1", T.CONTACT_CREATED, {"attributes": {"owner": "zoe"}}, occurred_at=at(0)),
        e("c1", C.OFFER_SET, {"product": "course", "discount_percent": 10}, occurred_at=at(1)),
        e("c1", C.OFFER_SET, {"product": "course", "discount_percent": 20}, occurred_at=at(4)),
        e("c1", C.OFFER_REMOVED, {"product": "course"}, occurred_at=at(3)),
        e("c1", C.MEMBERSHIP_ACCESS_CHANGED, {"site": "a", "access": "enabled"}, occurred_at=at(2)),
        e(
            "c1",
            C.MEMBERSHIP_ACCESS_CHANGED,
            {"site": "a", "access": "disabled"},
            occurred_at=at(6),
        ),
        e("c1", C.ADDED_TO_LIST, {"list_type": "project", "list_id": "p"}, occurred_at=at(2)),
        e("c1", C.REMOVED_FROM_LIST, {"list_type": "project", "list_id": "p"}, occurred_at=at(7)),
        e("c2", C.NOTE_ADDED, {"text": "hello"}, occurred_at=at(3)),
        e(
            "c2",
            C.CRM_ACTIVITY_CREATED,
            {"activity": "sale", "title": "Deal", "amount": 500},
            occurred_at=at(4),
        ),
        e("c2", C.ORDER_PLACED, {"order_id": "o1", "product": "gym"}, occurred_at=at(1)),
        e("c2", C.ORDER_CANCELLED, {"order_id": "o1", "product": "gym"}, occurred_at=at(8)),
        e("c2", C.ORDER_PLACED, {"order_id": "o2", "product": "spa"}, occurred_at=at(2)),
        e("c2", C.TRANSACTION_FAILED, {"transaction_id": "t1"}, occurred_at=at(2)),
        e("c2", C.TRANSACTION_RECHARGE_REQUESTED, {"transaction_id": "t1"}, occurred_at=at(9)),
        e("c1", C.OWNER_ASSIGNED, {"owner": "ann", "router": "sales"}, occurred_at=at(5)),
        e("c1", T.CONTACT_UPDATED, {"attributes": {"owner": "bob"}}, occurred_at=at(9)),
    ]


def test_arrival_order_does_not_matter_and_rebuild_reproduces_it(engine):
    stream = change_stream()
    ingest(engine, stream)
    with engine.connect() as conn:
        in_order = snapshot(conn)
    for seed in (1, 2, 3):
        # Project the same events again in another order, in small batches, as live
        # appends of late events would.
        shuffled = stream[:]
        random.Random(seed).shuffle(shuffled)
        with engine.begin() as conn:
            for table in reversed(READ_MODELS):
                conn.execute(table.delete())
            for start in range(0, len(shuffled), 3):
                projector.apply(conn, shuffled[start : start + 3])
        with engine.connect() as conn:
            assert snapshot(conn) == in_order, seed
    with engine.begin() as conn:
        assert rebuild(conn) == len(stream)
    with engine.connect() as conn:
        assert snapshot(conn) == in_order
    offer = rows(engine, contact_offers)[0]
    assert (offer["active"], offer["discount_percent"]) == (True, 20)
    assert {r["order_id"]: r["status"] for r in rows(engine, orders)} == {
        "o1": "cancelled",
        "o2": "open",
    }
    with engine.connect() as conn:
        assert load_snapshot(conn, "c1", {"attributes"}).attributes["owner"] == "bob"
