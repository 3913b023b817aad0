"""The pure mapping from contact-change steps to events (domain.contact_change_events)."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter

from domain.contact_change_events import (
    ChangeContext,
    InvalidChange,
    OpenOrder,
    change_events,
)
from domain.payload_schemas import PAYLOAD_SCHEMAS
from domain.steps import Step
from domain.steps.contact_changes import CONTACT_CHANGE_STEPS, RunScript

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
STEP = TypeAdapter(Step)


def step(kind: str, **settings):
    return STEP.validate_python({"id": "s1", "kind": kind, **settings})


def ctx(**overrides) -> ChangeContext:
    return ChangeContext(
        **{"contact_id": "c1", "now": NOW, "flow_id": "f", "step_id": "s1", **overrides}
    )


def events_of(kind: str, context: ChangeContext | None = None, **settings):
    return change_events(step(kind, **settings), context or ctx())


def test_every_contact_change_step_but_run_script_has_a_mapping():
    samples = {
        "add_tag": {"tag": "t"},
        "remove_tag": {"tag": "t"},
        "change_tags": {"add": ["a"]},
        "add_product": {"product": "p"},
        "remove_product": {"product": "p"},
        "add_purchase": {"product": "p"},
        "set_offer": {"product": "p", "discount_percent": 10},
        "remove_offer": {"product": "p"},
        "add_subscription": {"plan": "gold"},
        "set_membership": {"site": "m"},
        "add_to_list": {"list_id": "l"},
        "remove_from_list": {"list_id": "l"},
        "update_contact": {"changes": [{"field": "x", "action": "set", "value": 1}]},
        "make_note": {"text": "hi"},
        "create_activity": {"title": "Call"},
        "fulfillment": {"list_id": "ship"},
        "cancel_open_orders": {},
        "recharge_transactions": {},
        "add_to_lead_router": {"router": "sales"},
    }
    kinds = {cls.model_fields["kind"].default for cls in CONTACT_CHANGE_STEPS} - {"run_script"}
    assert kinds == set(samples)
    context = ctx(open_orders=(OpenOrder("o1", "p"),), collections=("t1",), assigned_owner="ann")
    for kind, settings in samples.items():
        changes = events_of(kind, context, **settings)
        assert changes, kind
        for event_type, payload in changes:
            PAYLOAD_SCHEMAS[event_type].model_validate(payload)  # what the edge would accept


def test_the_mapping_is_deterministic():
    first = events_of("create_activity", title="Call", due_in="2d")
    assert first == events_of("create_activity", title="Call", due_in="2d")


def test_tags_products_purchases_subscriptions_reuse_the_existing_event_types():
    assert events_of("change_tags", add=["customer"], remove=["lead"]) == [
        ("contact.tag_added", {"tag": "customer"}),
        ("contact.tag_removed", {"tag": "lead"}),
    ]
    assert events_of("add_purchase", product="book", quantity=2, amount=9.5, currency="EUR") == [
        ("product.purchased", {"product": "book", "quantity": 2, "amount": 9.5, "currency": "EUR"})
    ]
    assert events_of("remove_product", product="book") == [("product.removed", {"product": "book"})]
    assert events_of("add_subscription", plan="gold") == [
        ("subscription.started", {"plan": "gold"})
    ]


def test_an_offer_states_its_whole_terms_and_validity_from_now():
    [(kind, payload)] = events_of("set_offer", product="course", discount_amount=15, valid_for="7d")
    assert kind == "offer.set"
    assert payload == {
        "product": "course",
        "discount_percent": None,
        "discount_amount": 15.0,
        "expires_at": (NOW + timedelta(days=7)).isoformat().replace("+00:00", "Z"),
    }
    assert events_of("set_offer", product="c", discount_percent=5)[0][1]["expires_at"] is None
    with pytest.raises(InvalidChange, match="exactly one"):
        events_of("set_offer", product="course")


def test_lists_selections_projects_and_fulfillment_share_one_membership_event():
    assert events_of("add_to_list", list_type="project", list_id="launch") == [
        ("contact.added_to_list", {"list_type": "project", "list_id": "launch"})
    ]
    assert events_of("remove_from_list", list_id="news") == [
        ("contact.removed_from_list", {"list_type": "broadcast_list", "list_id": "news"})
    ]
    assert events_of("fulfillment", action="remove", list_id="ship") == [
        ("contact.removed_from_list", {"list_type": "fulfillment", "list_id": "ship"})
    ]
    assert events_of("set_membership", site="academy", access="suspended") == [
        ("membership.access_changed", {"site": "academy", "access": "suspended"})
    ]


def test_update_contact_applies_every_action_in_one_event():
    context = ctx(
        email="old@example.com",
        attributes={
            "visits": 3,
            "score": "41",
            "renews_on": "2024-05-10",
            "seen_at": "2024-05-01T10:00:00+00:00",
        },
    )
    [(kind, payload)] = events_of(
        "update_contact",
        context,
        changes=[
            {"field": "status", "action": "set", "value": "client"},
            {"field": "email", "action": "clear"},
            {"field": "visits", "action": "increment", "by": 2},
            {"field": "score", "action": "increment", "by": 0.5},
            {"field": "points", "action": "increment", "by": 10},
            {"field": "renews_on", "action": "shift_date", "by": "30d"},
            {"field": "seen_at", "action": "shift_date", "by": "1h"},
            {"field": "trial_ends", "action": "shift_date", "by": "14d"},
        ],
    )
    assert kind == "contact.updated"
    assert payload == {
        "email": None,
        "attributes": {
            "status": "client",
            "visits": 5,
            "score": 41.5,
            "points": 10,
            "renews_on": "2024-06-09",
            "seen_at": "2024-05-01T11:00:00+00:00",
            "trial_ends": (NOW + timedelta(days=14)).isoformat(),
        },
    }


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"field": "name", "action": "increment", "by": 1}, "not a number"),
        ({"field": "name", "action": "shift_date", "by": "1d"}, "not a date"),
        ({"field": "visits", "action": "increment"}, "needs a number"),
        ({"field": "", "action": "set", "value": 1}, "no field name"),
    ],
)
def test_update_contact_refuses_what_cannot_apply(change, reason):
    with pytest.raises(InvalidChange, match=reason):
        events_of("update_contact", ctx(attributes={"name": "Ann", "visits": 1}), changes=[change])


def test_activities_resolve_assignee_due_date_and_defaults():
    owned = ctx(attributes={"owner": "bob"})
    [(kind, payload)] = events_of(
        "create_activity", owned, activity="follow_up", title="", due_in="2d", priority="high"
    )
    assert kind == "crm_activity.created"
    assert payload["title"] == "Follow-up" and payload["assignee"] == "bob"
    assert payload["due_at"] == (NOW + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    assert (payload["status"], payload["priority"], payload["flow_id"]) == ("open", "high", "f")
    assert events_of("create_activity", owned, assignee="unassigned")[0][1]["assignee"] is None
    assert events_of("create_activity", owned, assignee="carol")[0][1]["assignee"] == "carol"
    assert events_of("create_activity", ctx(), assignee="auto")[0][1]["assignee"] is None
    # Amount belongs to sales only.
    assert events_of("create_activity", owned, activity="task", amount=5)[0][1]["amount"] is None
    assert events_of("create_activity", owned, activity="sale", amount=5)[0][1]["amount"] == 5


def test_orders_transactions_and_router_use_what_the_context_read():
    orders = (OpenOrder("o2", "gym"), OpenOrder("o1", "course"))
    assert [p["order_id"] for _, p in events_of("cancel_open_orders", ctx(open_orders=orders))] == [
        "o1",
        "o2",
    ]
    assert [
        p["order_id"]
        for _, p in events_of("cancel_open_orders", ctx(open_orders=orders), product="gym")
    ] == ["o2"]
    assert events_of("cancel_open_orders", ctx()) == []
    assert events_of("recharge_transactions", ctx(collections=("t2", "t1"))) == [
        ("transaction.recharge_requested", {"transaction_id": "t1"}),
        ("transaction.recharge_requested", {"transaction_id": "t2"}),
    ]
    assert events_of("add_to_lead_router", ctx(assigned_owner="ann"), router="sales") == [
        ("contact.owner_assigned", {"owner": "ann", "router": "sales"})
    ]
    with pytest.raises(InvalidChange):
        events_of("add_to_lead_router", router="sales")


def test_notes_carry_their_journey_and_empty_ones_are_refused():
    assert events_of("make_note", text="Asked for a demo") == [
        ("note.added", {"text": "Asked for a demo", "flow_id": "f", "step_id": "s1"})
    ]
    with pytest.raises(InvalidChange, match="text"):
        events_of("make_note", text="")


def test_run_script_is_not_a_contact_change_event():
    with pytest.raises(InvalidChange):
        change_events(RunScript(id="s", script="x"), ctx())
