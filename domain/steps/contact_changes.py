"""Steps that change the contact's record: tags, products, offers, subscriptions,
memberships, lists, fields, notes, CRM activities, orders, lead routing, scripts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from domain.durations import Duration
from domain.steps.base import Model, StepBase


class AddTag(StepBase):
    kind: Literal["add_tag"] = "add_tag"
    tag: str = ""


class RemoveTag(StepBase):
    kind: Literal["remove_tag"] = "remove_tag"
    tag: str = ""


class ChangeTags(StepBase):
    """Add and remove several tags in one step (e.g. +customer, -lead)."""

    kind: Literal["change_tags"] = "change_tags"
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)


class AddProduct(StepBase):
    kind: Literal["add_product"] = "add_product"
    product: str = ""


class RemoveProduct(StepBase):
    kind: Literal["remove_product"] = "remove_product"
    product: str = ""


class AddPurchase(StepBase):
    """Add a product to the contact's purchase history."""

    kind: Literal["add_purchase"] = "add_purchase"
    product: str = ""
    quantity: int = Field(default=1, ge=1)
    amount: float | None = Field(default=None, ge=0)
    currency: str | None = None


class SetSpecialOffer(StepBase):
    """Create a special offer, or update the one the contact already has for the product."""

    kind: Literal["set_offer"] = "set_offer"
    product: str = ""
    discount_percent: float | None = Field(default=None, gt=0, le=100)
    discount_amount: float | None = Field(default=None, gt=0)
    valid_for: Duration | None = None


class RemoveSpecialOffer(StepBase):
    kind: Literal["remove_offer"] = "remove_offer"
    product: str = ""


class AddSubscription(StepBase):
    kind: Literal["add_subscription"] = "add_subscription"
    plan: str = ""


class SetMembershipAccess(StepBase):
    kind: Literal["set_membership"] = "set_membership"
    site: str = ""
    access: Literal["enabled", "suspended", "disabled"] = "enabled"


ListType = Literal["broadcast_list", "selection", "project"]


class AddToList(StepBase):
    kind: Literal["add_to_list"] = "add_to_list"
    list_type: ListType = "broadcast_list"
    list_id: str = ""


class RemoveFromList(StepBase):
    kind: Literal["remove_from_list"] = "remove_from_list"
    list_type: ListType = "broadcast_list"
    list_id: str = ""


class FieldChange(Model):
    field: str = ""
    action: Literal["set", "clear", "increment", "shift_date"] = "set"
    value: Any = None
    by: float | Duration | None = Field(default=None, description="increment amount, or date shift")


class UpdateContact(StepBase):
    kind: Literal["update_contact"] = "update_contact"
    changes: list[FieldChange] = Field(default_factory=list)


class MakeNote(StepBase):
    kind: Literal["make_note"] = "make_note"
    text: str = ""


class CreateActivity(StepBase):
    """A CRM task, follow-up, request or sale assigned to someone on the team."""

    kind: Literal["create_activity"] = "create_activity"
    activity: Literal["task", "follow_up", "request", "sale"] = "task"
    title: str = ""
    type: str | None = None
    due_in: Duration | None = None
    due_at: datetime | None = None
    assignee: str = Field(
        default="contact_owner", description="'contact_owner', 'auto', 'unassigned' or a user id"
    )
    status: str | None = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    category: str | None = None
    message: str | None = None
    amount: float | None = Field(default=None, ge=0, description="Sales only.")


class Fulfillment(StepBase):
    kind: Literal["fulfillment"] = "fulfillment"
    action: Literal["add", "remove"] = "add"
    list_id: str = ""


class CancelOpenOrders(StepBase):
    kind: Literal["cancel_open_orders"] = "cancel_open_orders"
    product: str | None = Field(
        default=None, description="Only orders for this product; all if unset."
    )


class RechargeTransactions(StepBase):
    kind: Literal["recharge_transactions"] = "recharge_transactions"


class AddToLeadRouter(StepBase):
    kind: Literal["add_to_lead_router"] = "add_to_lead_router"
    router: str = ""


class RunScript(StepBase):
    """Fire and forget: the journey moves on as soon as the script is triggered."""

    kind: Literal["run_script"] = "run_script"
    script: str = ""
    arguments: dict[str, Any] = Field(default_factory=dict)


CONTACT_CHANGE_STEPS = (
    AddTag,
    RemoveTag,
    ChangeTags,
    AddProduct,
    RemoveProduct,
    AddPurchase,
    SetSpecialOffer,
    RemoveSpecialOffer,
    AddSubscription,
    SetMembershipAccess,
    AddToList,
    RemoveFromList,
    UpdateContact,
    MakeNote,
    CreateActivity,
    Fulfillment,
    CancelOpenOrders,
    RechargeTransactions,
    AddToLeadRouter,
    RunScript,
)
