"""What a contact-change step means as events: step + what the contact looks like now ->
the events to append, in order. Pure and deterministic (the same step and context give
the same events), so the activity that appends them can be retried and tested freely.

Whatever needs the current state (a field to increment, the contact's owner, the open
orders to cancel, the owner the lead router picked) arrives in ChangeContext; reading
it is the activity's job."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from domain.contact_change_payloads import ChangeEvent as C
from domain.event_payloads import EventType as T
from domain.payload_schemas import PAYLOAD_SCHEMAS
from domain.steps import contact_changes as cc
from domain.steps.base import StepBase

Change = tuple[str, dict[str, Any]]

# Fields of ContactUpdated that live on the contact itself rather than in attributes.
_CONTACT_FIELDS = ("email", "phone")
# The contact_attributes.name column's bound.
MAX_FIELD_NAME = 100
_ACTIVITY_TITLES = {"task": "Task", "follow_up": "Follow-up", "request": "Request", "sale": "Sale"}


class InvalidChange(ValueError):
    """The step cannot be applied to this contact, now or on a retry."""


@dataclass(frozen=True)
class OpenOrder:
    order_id: str
    product: str | None = None


@dataclass(frozen=True)
class ChangeContext:
    contact_id: str
    now: datetime
    flow_id: str | None = None
    step_id: str | None = None
    email: str | None = None
    phone: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    open_orders: tuple[OpenOrder, ...] = ()
    collections: tuple[str, ...] = ()  # transaction ids in collections
    assigned_owner: str | None = None  # the lead router's pick, for add_to_lead_router


def change_events(step: StepBase, ctx: ChangeContext) -> list[Change]:
    """The events a contact-change step appends; raises InvalidChange when it cannot apply."""
    builder = _BUILDERS.get(type(step))
    if builder is None:
        raise InvalidChange(f"{step.kind} is not a contact change that appends events")
    return [(kind, _valid(kind, payload)) for kind, payload in builder(step, ctx)]


def _valid(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    # The same schemas the API enforces: a journey never stores what the edge would refuse.
    try:
        model = PAYLOAD_SCHEMAS[kind].model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidChange(f"{kind}: {problems}") from None
    return model.model_dump(mode="json", exclude_unset=True)


def _tags(step: cc.AddTag | cc.RemoveTag | cc.ChangeTags, _ctx: ChangeContext) -> list[Change]:
    if isinstance(step, cc.ChangeTags):
        added: list[Change] = [(T.TAG_ADDED, {"tag": t}) for t in step.add]
        return added + [(T.TAG_REMOVED, {"tag": t}) for t in step.remove]
    kind = T.TAG_ADDED if isinstance(step, cc.AddTag) else T.TAG_REMOVED
    return [(kind, {"tag": step.tag})]


def _product(step: cc.AddProduct | cc.RemoveProduct, _ctx: ChangeContext) -> list[Change]:
    kind = T.PRODUCT_ADDED if isinstance(step, cc.AddProduct) else T.PRODUCT_REMOVED
    return [(kind, {"product": step.product})]


def _purchase(step: cc.AddPurchase, _ctx: ChangeContext) -> list[Change]:
    payload = {"product": step.product, "quantity": step.quantity}
    payload.update(
        {k: v for k, v in (("amount", step.amount), ("currency", step.currency)) if v is not None}
    )
    return [(T.PRODUCT_PURCHASED, payload)]


def _offer(step: cc.SetSpecialOffer, ctx: ChangeContext) -> list[Change]:
    if (step.discount_percent is None) == (step.discount_amount is None):
        raise InvalidChange("set_offer needs exactly one of discount_percent or discount_amount")
    # The step states the whole offer: an existing one gets exactly these terms (a percent
    # offer updated to an amount loses its percent), and a new validity runs from now.
    return [
        (
            C.OFFER_SET,
            {
                "product": step.product,
                "discount_percent": step.discount_percent,
                "discount_amount": step.discount_amount,
                "expires_at": ctx.now + step.valid_for if step.valid_for is not None else None,
            },
        )
    ]


def _remove_offer(step: cc.RemoveSpecialOffer, _ctx: ChangeContext) -> list[Change]:
    return [(C.OFFER_REMOVED, {"product": step.product})]


def _subscription(step: cc.AddSubscription, _ctx: ChangeContext) -> list[Change]:
    return [(T.SUBSCRIPTION_STARTED, {"plan": step.plan})]


def _membership(step: cc.SetMembershipAccess, _ctx: ChangeContext) -> list[Change]:
    return [(C.MEMBERSHIP_ACCESS_CHANGED, {"site": step.site, "access": step.access})]


def _list(step: cc.AddToList | cc.RemoveFromList, _ctx: ChangeContext) -> list[Change]:
    kind = C.ADDED_TO_LIST if isinstance(step, cc.AddToList) else C.REMOVED_FROM_LIST
    return [(kind, {"list_type": step.list_type, "list_id": step.list_id})]


def _fulfillment(step: cc.Fulfillment, _ctx: ChangeContext) -> list[Change]:
    # Fulfillment lists are lists of their own type, in the same membership read model.
    kind = C.ADDED_TO_LIST if step.action == "add" else C.REMOVED_FROM_LIST
    return [(kind, {"list_type": "fulfillment", "list_id": step.list_id})]


def _note(step: cc.MakeNote, ctx: ChangeContext) -> list[Change]:
    return [(C.NOTE_ADDED, {"text": step.text, "flow_id": ctx.flow_id, "step_id": ctx.step_id})]


def _activity(step: cc.CreateActivity, ctx: ChangeContext) -> list[Change]:
    return [
        (
            C.CRM_ACTIVITY_CREATED,
            {
                "activity": step.activity,
                "title": step.title.strip() or _ACTIVITY_TITLES[step.activity],
                "type": step.type,
                "due_at": _due(step, ctx.now),
                "assignee": _assignee(step, ctx),
                "status": step.status or "open",
                "priority": step.priority or "normal",
                "category": step.category,
                "message": step.message,
                "amount": step.amount if step.activity == "sale" else None,
                "flow_id": ctx.flow_id,
                "step_id": ctx.step_id,
            },
        )
    ]


def _due(step: cc.CreateActivity, now: datetime) -> datetime | None:
    if step.due_at is not None:
        # A due date without a zone is read as UTC, like every stored timestamp.
        return step.due_at if step.due_at.tzinfo else step.due_at.replace(tzinfo=UTC)
    return now + step.due_in if step.due_in is not None else None


def _assignee(step: cc.CreateActivity, ctx: ChangeContext) -> str | None:
    if step.assignee == "unassigned":
        return None
    if step.assignee in ("contact_owner", "auto"):
        # No assignment rules of our own: "auto" follows the contact's owner too, and a
        # contact nobody owns gets an unassigned activity rather than a failed step.
        owner = ctx.attributes.get("owner")
        return str(owner) if owner not in (None, "") else None
    return step.assignee


def _cancel_orders(step: cc.CancelOpenOrders, ctx: ChangeContext) -> list[Change]:
    return [
        (
            C.ORDER_CANCELLED,
            {"order_id": o.order_id, "product": o.product, "reason": "cancelled by flow"},
        )
        for o in sorted(ctx.open_orders, key=lambda o: o.order_id)
        if step.product is None or o.product == step.product
    ]


def _recharge(_step: StepBase, ctx: ChangeContext) -> list[Change]:
    return [
        (C.TRANSACTION_RECHARGE_REQUESTED, {"transaction_id": t}) for t in sorted(ctx.collections)
    ]


def _lead_router(step: cc.AddToLeadRouter, ctx: ChangeContext) -> list[Change]:
    if ctx.assigned_owner is None:
        raise InvalidChange(f"lead router {step.router!r} assigned nobody")
    return [(C.OWNER_ASSIGNED, {"owner": ctx.assigned_owner, "router": step.router})]


def _update_contact(step: cc.UpdateContact, ctx: ChangeContext) -> list[Change]:
    """All field changes of the step in one contact.updated, applied in order."""
    if not step.changes:
        raise InvalidChange("update_contact has no field changes")
    current = {**ctx.attributes, "email": ctx.email, "phone": ctx.phone}
    changed: dict[str, Any] = {}
    for change in step.changes:
        name = change.field.strip()
        if not name:
            raise InvalidChange("update_contact: a change has no field name")
        if len(name) > MAX_FIELD_NAME:
            raise InvalidChange(
                f"update_contact: field names are at most {MAX_FIELD_NAME} characters"
            )
        value = _changed_value(change, current.get(name), ctx.now)
        current[name] = changed[name] = value
    payload: dict[str, Any] = {k: changed.pop(k) for k in _CONTACT_FIELDS if k in changed}
    return [(T.CONTACT_UPDATED, {**payload, "attributes": changed})]


def _changed_value(change: cc.FieldChange, current: Any, now: datetime) -> Any:
    match change.action:
        case "set":
            return change.value
        case "clear":
            return None
        case "increment":
            return _increment(change, current)
        case "shift_date":
            return _shift(change, current, now)
    raise InvalidChange(f"unknown field action {change.action!r}")  # pragma: no cover


def _increment(change: cc.FieldChange, current: Any) -> int | float:
    by = change.by
    if isinstance(by, bool) or not isinstance(by, (int, float)):
        raise InvalidChange(f"{change.field}: increment needs a number in 'by'")
    base = _number(change.field, current)
    # `by` always parses as a float; 3 + 2 is stored as 5, not 5.0, so whole stays whole.
    return base + int(by) if isinstance(base, int) and float(by).is_integer() else base + by


def _number(name: str, value: Any) -> int | float:
    if value is None or value == "":
        return 0  # an empty field counts from zero
    if isinstance(value, bool):
        raise InvalidChange(f"{name}: cannot increment a yes/no value")
    if isinstance(value, (int, float)):
        return value
    try:  # form fields arrive as text: "41" is a number to a marketer
        number = float(str(value).strip())
    except ValueError:
        raise InvalidChange(f"{name}: cannot increment {value!r}, it is not a number") from None
    return int(number) if number.is_integer() else number


def _shift(change: cc.FieldChange, current: Any, now: datetime) -> str:
    by = change.by
    if not isinstance(by, timedelta):
        raise InvalidChange(f"{change.field}: shift_date needs a duration in 'by', e.g. '7d'")
    if current is None or current == "":
        return (now + by).isoformat()  # an empty date shifts from now ("7 days from today")
    text = str(current).strip()
    try:
        if len(text) == 10:  # a plain date stays a date, moved by whole days
            return (date.fromisoformat(text) + timedelta(days=by.days)).isoformat()
        return (datetime.fromisoformat(text.replace("Z", "+00:00")) + by).isoformat()
    except ValueError:
        raise InvalidChange(f"{change.field}: cannot shift {current!r}, it is not a date") from None


# Each builder takes its own step class; the table is keyed by that class.
_BUILDERS: dict[type, Callable[[Any, ChangeContext], list[Change]]] = {
    cc.AddTag: _tags,
    cc.RemoveTag: _tags,
    cc.ChangeTags: _tags,
    cc.AddProduct: _product,
    cc.RemoveProduct: _product,
    cc.AddPurchase: _purchase,
    cc.SetSpecialOffer: _offer,
    cc.RemoveSpecialOffer: _remove_offer,
    cc.AddSubscription: _subscription,
    cc.SetMembershipAccess: _membership,
    cc.AddToList: _list,
    cc.RemoveFromList: _list,
    cc.UpdateContact: _update_contact,
    cc.MakeNote: _note,
    cc.CreateActivity: _activity,
    cc.Fulfillment: _fulfillment,
    cc.CancelOpenOrders: _cancel_orders,
    cc.RechargeTransactions: _recharge,
    cc.AddToLeadRouter: _lead_router,
}
