"""Event types and payloads for the contact changes journeys make beyond tags, products,
purchases and subscriptions (those reuse the types in domain.event_payloads): offers,
memberships, list / selection / project / fulfillment membership, notes, CRM
activities, orders, transactions and lead-router assignment.

Kept apart from domain.event_payloads so that file stays small; domain.payload_schemas
combines both tables. The same stability rule holds: type strings are stored history
and never change."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from domain.payload_base import MAX_NAME_LENGTH, Name, OptionalName, Payload


class ChangeEvent(StrEnum):
    OFFER_SET = "offer.set"
    OFFER_REMOVED = "offer.removed"
    MEMBERSHIP_ACCESS_CHANGED = "membership.access_changed"
    ADDED_TO_LIST = "contact.added_to_list"
    REMOVED_FROM_LIST = "contact.removed_from_list"
    NOTE_ADDED = "note.added"
    CRM_ACTIVITY_CREATED = "crm_activity.created"
    ORDER_PLACED = "order.placed"
    ORDER_CANCELLED = "order.cancelled"
    TRANSACTION_FAILED = "transaction.failed"
    TRANSACTION_RECHARGE_REQUESTED = "transaction.recharge_requested"
    TRANSACTION_PAID = "transaction.paid"
    OWNER_ASSIGNED = "contact.owner_assigned"


# Ids that key read-model rows, bounded to their columns like domain.event_payloads' names.
Key = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
# Who owns a contact or an activity: a user id of the team.
UserId = Annotated[str, Field(min_length=1, max_length=128)]
Journey = Annotated[str, Field(max_length=64)] | None


class OfferSet(Payload):
    """Creates the contact's offer for the product, or replaces the terms of the one they
    already have (one offer per contact and product)."""

    product: Name
    discount_percent: float | None = Field(default=None, gt=0, le=100)
    discount_amount: float | None = Field(default=None, gt=0)
    expires_at: datetime | None = None


class OfferRemoved(Payload):
    product: Name


class MembershipAccessChanged(Payload):
    site: Name
    access: Literal["enabled", "suspended", "disabled"]


ListKind = Literal["broadcast_list", "selection", "project", "fulfillment"]


class ListMembershipChanged(Payload):
    list_type: ListKind
    list_id: Name


class NoteAdded(Payload):
    text: str = Field(min_length=1)
    flow_id: Journey = None
    step_id: Journey = None


class CrmActivityCreated(Payload):
    """A task, follow-up, request or sale; the event id is the activity's id."""

    activity: Literal["task", "follow_up", "request", "sale"]
    title: str = Field(min_length=1, max_length=300)
    type: OptionalName = None
    due_at: datetime | None = None
    assignee: UserId | None = Field(default=None, description="None: unassigned")
    status: str = Field(default="open", min_length=1, max_length=50)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    category: OptionalName = None
    message: str | None = None
    amount: float | None = Field(default=None, ge=0)
    flow_id: Journey = None
    step_id: Journey = None


class OrderPlaced(Payload):
    """An order from the shop or billing system; `recurring` marks a payment plan or
    subscription that would charge again while open."""

    order_id: Key
    product: Name
    amount: float | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, max_length=10)
    recurring: bool = False


class OrderCancelled(Payload):
    order_id: Key
    product: OptionalName = None
    reason: str | None = Field(default=None, max_length=200)


class TransactionFailed(Payload):
    """A charge that failed and went to collections."""

    transaction_id: Key
    order_id: OptionalName = None
    amount: float | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, max_length=10)


class TransactionChanged(Payload):
    transaction_id: Key


class OwnerAssigned(Payload):
    owner: UserId
    router: OptionalName = None


CHANGE_PAYLOAD_SCHEMAS: dict[str, type[Payload]] = {
    ChangeEvent.OFFER_SET: OfferSet,
    ChangeEvent.OFFER_REMOVED: OfferRemoved,
    ChangeEvent.MEMBERSHIP_ACCESS_CHANGED: MembershipAccessChanged,
    ChangeEvent.ADDED_TO_LIST: ListMembershipChanged,
    ChangeEvent.REMOVED_FROM_LIST: ListMembershipChanged,
    ChangeEvent.NOTE_ADDED: NoteAdded,
    ChangeEvent.CRM_ACTIVITY_CREATED: CrmActivityCreated,
    ChangeEvent.ORDER_PLACED: OrderPlaced,
    ChangeEvent.ORDER_CANCELLED: OrderCancelled,
    ChangeEvent.TRANSACTION_FAILED: TransactionFailed,
    ChangeEvent.TRANSACTION_RECHARGE_REQUESTED: TransactionChanged,
    ChangeEvent.TRANSACTION_PAID: TransactionChanged,
    ChangeEvent.OWNER_ASSIGNED: OwnerAssigned,
}
