"""Every contact-change step kind in a real journey on the time-skipping server: the
events it appended and the read model they updated; retries append nothing twice."""

from collections.abc import Callable

import pytest
from sqlalchemy import select
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contact_changes import ContactChangeActivities
from domain.contact_change_payloads import ChangeEvent as C
from domain.contracts.actions import CONTACT_CHANGE_ACTIVITY, ActionOutcome, ActionRequest
from domain.journey import JourneyStatus
from projections.change_schema import (
    contact_notes,
    contact_offers,
    crm_activities,
    lead_assignments,
    lead_router_turns,
    list_memberships,
    memberships,
    orders,
    transactions,
)
from projections.contacts import load_snapshot
from projections.event_store import ingest, read_contact
from projections.schema import purchases
from routing.router import Router
from tests.journey_harness import contact, enroll_and_finish, event, flow_from, journey_worker
from worker import activities_for, build_worker

ROUTERS = {"sales": ["ann", "bob"]}


def rows(engine, table) -> list[dict]:
    with engine.connect() as conn:
        return [r._asdict() for r in conn.execute(select(table))]


def snap(engine, contact_id="c1"):
    with engine.connect() as conn:
        return load_snapshot(conn, contact_id)


def journey_events(engine, contact_id="c1") -> list:
    with engine.connect() as conn:
        return [e for e in read_contact(conn, contact_id) if e.source == "dripstone.journey"]


Read = Callable[[object], object]
# kind -> (step settings, events ingested first, event types appended, read model, expected)
CASES: dict[str, tuple[dict, list, list[str], Read, object]] = {
    "add_product": (
        {"product": "ebook"},
        [],
        ["product.added"],
        lambda e: snap(e).products,
        {"ebook"},
    ),
    "remove_product": (
        {"product": "ebook"},
        [("product.added", {"product": "ebook"})],
        ["product.removed"],
        lambda e: snap(e).products,
        frozenset(),
    ),
    "add_purchase": (
        {"product": "course", "quantity": 2, "amount": 98, "currency": "EUR"},
        [],
        ["product.purchased"],
        lambda e: (
            [(r["product"], r["quantity"], r["amount"], r["currency"]) for r in rows(e, purchases)],
            snap(e).purchased,
        ),
        ([("course", 2, 98, "EUR")], {"course"}),
    ),
    "set_offer": (
        {"product": "course", "discount_percent": 30, "valid_for": "7d"},
        [(C.OFFER_SET, {"product": "course", "discount_amount": 5})],
        ["offer.set"],
        lambda e: [
            (r["active"], r["discount_percent"], r["discount_amount"], r["expires_at"] is not None)
            for r in rows(e, contact_offers)
        ],
        [(True, 30, None, True)],
    ),  # the existing offer was updated, not duplicated
    "remove_offer": (
        {"product": "course"},
        [(C.OFFER_SET, {"product": "course", "discount_amount": 5})],
        ["offer.removed"],
        lambda e: [(r["active"], r["discount_amount"]) for r in rows(e, contact_offers)],
        [(False, 5)],
    ),
    "add_subscription": (
        {"plan": "gold"},
        [],
        ["subscription.started"],
        lambda e: snap(e).subscriptions,
        {"gold": True},
    ),
    "set_membership": (
        {"site": "academy", "access": "suspended"},
        [],
        ["membership.access_changed"],
        lambda e: [(r["site"], r["access"]) for r in rows(e, memberships)],
        [("academy", "suspended")],
    ),
    "add_to_list": (
        {"list_type": "selection", "list_id": "vip"},
        [],
        ["contact.added_to_list"],
        lambda e: [(r["list_type"], r["list_id"], r["member"]) for r in rows(e, list_memberships)],
        [("selection", "vip", True)],
    ),
    "remove_from_list": (
        {"list_type": "project", "list_id": "launch"},
        [(C.ADDED_TO_LIST, {"list_type": "project", "list_id": "launch"})],
        ["contact.removed_from_list"],
        lambda e: [(r["list_type"], r["member"]) for r in rows(e, list_memberships)],
        [("project", False)],
    ),
    "update_contact": (
        {
            "changes": [
                {"field": "status", "action": "set", "value": "client"},
                {"field": "visits", "action": "increment", "by": 1},
                {"field": "phone", "action": "clear"},
            ]
        },
        [],
        ["contact.updated"],
        lambda e: (snap(e).attributes["status"], snap(e).attributes["visits"], snap(e).phone),
        ("client", 4, None),
    ),
    "make_note": (
        {"text": "Asked for a demo"},
        [],
        ["note.added"],
        lambda e: [(r["text"], r["flow_id"], r["step_id"]) for r in rows(e, contact_notes)],
        [("Asked for a demo", "cc-make-note", "s")],
    ),
    "create_activity": (
        {"activity": "follow_up", "title": "Call back", "due_in": "2d", "priority": "high"},
        [],
        ["crm_activity.created"],
        lambda e: [
            (
                r["activity"],
                r["title"],
                r["assignee"],
                r["status"],
                r["priority"],
                r["due_at"] is not None,
            )
            for r in rows(e, crm_activities)
        ],
        [("follow_up", "Call back", "zoe", "open", "high", True)],
    ),
    "fulfillment": (
        {"action": "add", "list_id": "ship-kit"},
        [],
        ["contact.added_to_list"],
        lambda e: [(r["list_type"], r["list_id"], r["member"]) for r in rows(e, list_memberships)],
        [("fulfillment", "ship-kit", True)],
    ),
    "cancel_open_orders": (
        {"product": "gym"},
        [
            (C.ORDER_PLACED, {"order_id": "o1", "product": "gym", "recurring": True}),
            (C.ORDER_PLACED, {"order_id": "o2", "product": "spa"}),
        ],
        ["order.cancelled"],
        lambda e: {r["order_id"]: r["status"] for r in rows(e, orders)},
        {"o1": "cancelled", "o2": "open"},
    ),
    "recharge_transactions": (
        {},
        [
            (C.TRANSACTION_FAILED, {"transaction_id": "t1", "amount": 9}),
            (C.TRANSACTION_FAILED, {"transaction_id": "t2"}),
            (C.TRANSACTION_PAID, {"transaction_id": "t2"}),
        ],
        ["transaction.recharge_requested"],
        lambda e: {r["transaction_id"]: r["status"] for r in rows(e, transactions)},
        {"t1": "recharge_requested", "t2": "paid"},
    ),
    "add_to_lead_router": (
        {"router": "sales"},
        [],
        ["contact.owner_assigned"],
        lambda e: (snap(e).attributes["owner"], [r["owner"] for r in rows(e, lead_assignments)]),
        ("ann", ["ann"]),
    ),
}


def one_step_flow(kind: str, settings: dict, prefix: str = "cc"):
    # Workflow ids include the flow id, and the test server outlives each test.
    flow_id = f"{prefix}-{kind.replace('_', '-')}"
    return flow_from({"id": flow_id, "steps": [{"id": "s", "kind": kind, **settings}]})


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_each_contact_change_appends_events_and_updates_its_read_model(
    time_skipping_env, engine, settings, kind
):
    step_settings, setup, appended_types, read, expected = CASES[kind]
    ingest(
        engine, contact("c1", email="c1@example.com", phone="+15550001111", visits=3, owner="zoe")
    )
    ingest(engine, [event("c1", type_, payload) for type_, payload in setup])
    settings = settings.model_copy(update={"lead_routers": ROUTERS})
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        state = await enroll_and_finish(
            time_skipping_env, router, engine, one_step_flow(kind, step_settings), "c1"
        )
    assert state.status == JourneyStatus.COMPLETED
    assert [v.outcome for v in state.trail] == [f"{kind} done"]
    assert [e.type for e in journey_events(engine)] == appended_types
    assert read(engine) == expected


async def test_the_lead_router_assigns_round_robin_and_activities_follow_the_owner(
    time_skipping_env, engine, settings
):
    flow = flow_from(
        {
            "id": "cc-round-robin",
            "steps": [
                {"id": "route", "kind": "add_to_lead_router", "router": "sales"},
                {"id": "call", "kind": "create_activity", "activity": "task", "title": "Call"},
            ],
        }
    )
    settings = settings.model_copy(update={"lead_routers": ROUTERS})
    for contact_id in ("c1", "c2", "c3"):
        ingest(engine, contact(contact_id))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        for contact_id in ("c1", "c2", "c3"):
            await enroll_and_finish(time_skipping_env, router, engine, flow, contact_id)
    owners = {r["contact_id"]: r["owner"] for r in rows(engine, lead_assignments)}
    assert owners == {"c1": "ann", "c2": "bob", "c3": "ann"}
    assert {r["contact_id"]: r["assignee"] for r in rows(engine, crm_activities)} == owners
    assert rows(engine, lead_router_turns) == [{"router": "sales", "turns": 3}]


async def test_an_unknown_router_fails_the_step_and_the_journey_goes_on(
    time_skipping_env, engine, settings
):
    flow = flow_from(
        {
            "id": "cc-unknown-router",
            "steps": [
                {"id": "route", "kind": "add_to_lead_router", "router": "nobody"},
                {"id": "tag", "kind": "add_tag", "tag": "routed"},
            ],
        }
    )
    ingest(engine, contact("c1"))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        state = await enroll_and_finish(time_skipping_env, router, engine, flow, "c1")
    assert state.status == JourneyStatus.COMPLETED
    assert state.trail[0].outcome.startswith("add_to_lead_router failed: invalid contact change")
    assert "routed" in snap(engine).tags
    assert rows(engine, lead_router_turns) == []


class CrashAfterCommit:
    """The real activity, but its first attempt dies after the append committed, as a
    worker lost between the database and Temporal would."""

    def __init__(self, real: ContactChangeActivities):
        self.real = real
        self.calls = 0

    @activity.defn(name=CONTACT_CHANGE_ACTIVITY)
    async def apply_contact_change(self, request: ActionRequest) -> ActionOutcome:
        self.calls += 1
        outcome = await self.real.apply_contact_change(request)
        if self.calls == 1:
            raise ConnectionResetError("worker lost after the events were committed")
        return outcome


@pytest.mark.parametrize("kind", ["add_to_lead_router", "update_contact", "create_activity"])
async def test_a_retried_change_appends_nothing_twice(time_skipping_env, engine, settings, kind):
    step_settings = {
        "add_to_lead_router": {"router": "sales"},
        "update_contact": {"changes": [{"field": "visits", "action": "increment", "by": 1}]},
        "create_activity": {"title": "Call"},
    }[kind]
    ingest(engine, contact("c1", visits=3))
    flaky = CrashAfterCommit(ContactChangeActivities(engine, ROUTERS))
    client = time_skipping_env.client
    activities = [
        a
        for a in activities_for(settings, engine, client)
        if getattr(a, "__name__", "") != "apply_contact_change"
    ] + [flaky.apply_contact_change]
    async with build_worker(client, settings, activities):
        state = await enroll_and_finish(
            time_skipping_env,
            Router(client, engine, settings.task_queue),
            engine,
            one_step_flow(kind, step_settings, "retry"),
            "c1",
        )
    assert flaky.calls == 2  # the retry ran, and found the committed run
    assert state.trail[0].outcome == f"{kind} done"
    assert len(journey_events(engine)) == 1
    if kind == "add_to_lead_router":
        assert rows(engine, lead_router_turns) == [{"router": "sales", "turns": 1}]
    if kind == "update_contact":
        assert snap(engine).attributes["visits"] == 4  # incremented once
    if kind == "create_activity":
        assert len(rows(engine, crm_activities)) == 1


def request(kind: str, contact_id: str = "c1", key: str = "j/e/s/1", **settings) -> ActionRequest:
    return ActionRequest(
        idempotency_key=key,
        journey_id="j",
        flow_id="f",
        step_id="s",
        contact_id=contact_id,
        step={"id": "s", "kind": kind, **settings},
    )


async def test_the_same_request_twice_appends_once_and_reports_the_same_events(engine):
    ingest(engine, contact("c1"))
    activities = ContactChangeActivities(engine, ROUTERS)
    env = ActivityEnvironment()
    first = await env.run(
        activities.apply_contact_change, request("add_to_lead_router", router="sales")
    )
    again = await env.run(
        activities.apply_contact_change, request("add_to_lead_router", router="sales")
    )
    assert first.data["event_ids"] == again.data["event_ids"]
    assert (first.data["appended"], again.data["appended"]) == (1, 0)
    assert rows(engine, lead_router_turns) == [{"router": "sales", "turns": 1}]


async def test_an_unknown_contact_is_refused_for_good(engine):
    env = ActivityEnvironment()
    with pytest.raises(ApplicationError) as raised:
        await env.run(
            ContactChangeActivities(engine).apply_contact_change,
            request("make_note", contact_id="ghost", text="hi"),
        )
    assert (raised.value.type, raised.value.non_retryable) == ("UnknownContact", True)
    assert journey_events(engine, "ghost") == []


async def test_titles_and_notes_render_their_merge_tags_like_message_content(
    time_skipping_env, engine, settings
):
    """Seed 000's NPS flow: a task titled after the contact, a note with their score."""
    flow = flow_from(
        {
            "id": "nps-followup",
            "steps": [
                {
                    "id": "task",
                    "kind": "create_activity",
                    "activity": "task",
                    "title": "Call back NPS detractor {{ first_name | default('(name unknown)') }}",
                    "message": "Score {{ nps_score }}",
                },
                {"id": "note", "kind": "make_note", "text": "Detractor, scored {{ nps_score }}"},
            ],
        }
    )
    ingest(engine, contact("ann", first_name="Ann", nps_score=3) + contact("anon", nps_score=5))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        await enroll_and_finish(time_skipping_env, router, engine, flow, "ann")
        await enroll_and_finish(time_skipping_env, router, engine, flow, "anon")
    written = {
        (contact_id, e.type): e.payload
        for contact_id in ("ann", "anon")
        for e in journey_events(engine, contact_id)
    }
    assert written["ann", C.CRM_ACTIVITY_CREATED]["title"] == "Call back NPS detractor Ann"
    assert written["ann", C.CRM_ACTIVITY_CREATED]["message"] == "Score 3"
    assert written["ann", C.NOTE_ADDED]["text"] == "Detractor, scored 3"
    assert written["anon", C.CRM_ACTIVITY_CREATED]["title"] == (
        "Call back NPS detractor (name unknown)"
    )


async def test_a_title_missing_its_merge_value_skips_the_step_and_writes_nothing(engine):
    ingest(engine, contact("c1"))
    outcome = await ActivityEnvironment().run(
        ContactChangeActivities(engine).apply_contact_change,
        request("create_activity", title="Call {{ first_name }}"),
    )
    assert (outcome.status, outcome.reason_code) == ("skipped", "merge_value")
    assert "first_name" in outcome.reason
    assert journey_events(engine) == []
