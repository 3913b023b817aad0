"""Every event type's stable type string and payload schema.

Type strings are part of the stored history (event store rows, workflow signals), so
they are past-tense names that never change; a payload change bumps `schema_version`
instead of renaming the type."""

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class EventType(StrEnum):
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    TAG_ADDED = "contact.tag_added"
    TAG_REMOVED = "contact.tag_removed"
    UNSUBSCRIBED = "contact.unsubscribed"
    RESUBSCRIBED = "contact.resubscribed"
    ACTIVE = "contact.active"
    FORM_SUBMITTED = "form.submitted"
    PAGE_VISITED = "page.visited"
    MESSAGE_SENT = "message.sent"
    EMAIL_DELIVERED = "email.delivered"
    EMAIL_OPENED = "email.opened"
    EMAIL_CLICKED = "email.clicked"
    SMS_RECEIVED = "sms.received"
    PRODUCT_PURCHASED = "product.purchased"
    PRODUCT_ADDED = "product.added"
    PRODUCT_REMOVED = "product.removed"
    SUBSCRIPTION_STARTED = "subscription.started"
    SUBSCRIPTION_ENDED = "subscription.ended"
    COURSE_ACCOUNT_CREATED = "course.account_created"
    COURSE_STARTED = "course.started"
    COURSE_STEP_COMPLETED = "course.step_completed"
    COURSE_COMPLETED = "course.completed"
    CUSTOM = "custom"


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContactCreated(Payload):
    email: str | None = None
    phone: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class ContactUpdated(Payload):
    """Attributes set to null are cleared; absent ones are left alone."""

    email: str | None = None
    phone: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class TagChanged(Payload):
    tag: str = Field(min_length=1, max_length=100)


Channel = Literal["email", "sms"]


class SubscriptionChanged(Payload):
    """Unsubscribed from / resubscribed to a channel (optionally one list of it)."""

    channel: Channel
    list_id: str | None = None


class Active(Payload):
    platform: str | None = None


class FormSubmitted(Payload):
    form_id: str = Field(min_length=1)
    funnel: str | None = None
    page: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)


class PageVisited(Payload):
    page: str = Field(min_length=1)
    funnel: str | None = None
    url: str | None = None


class MessageSent(Payload):
    channel: str
    message_key: str
    flow_id: str | None = None
    step_id: str | None = None
    to: str
    provider_message_id: str | None = None


class EmailEngagement(Payload):
    """Delivered / opened / clicked: per message (message_key, and the flow step that sent
    it when known) and, for clicks, per link."""

    message_key: str | None = None
    flow_id: str | None = None
    step_id: str | None = None
    url: str | None = None


class SmsReceived(Payload):
    body: str
    from_number: str | None = None


class ProductPurchased(Payload):
    product: str = Field(min_length=1)
    quantity: int = Field(default=1, ge=1)
    amount: float | None = Field(default=None, ge=0)
    currency: str | None = None


class ProductChanged(Payload):
    product: str = Field(min_length=1)


class PlanChanged(Payload):
    plan: str = Field(min_length=1)


class CourseAccount(Payload):
    platform: str | None = None


class CourseChanged(Payload):
    course: str = Field(min_length=1)


class CourseStepCompleted(Payload):
    course: str = Field(min_length=1)
    step: str = Field(min_length=1)


class CustomEvent(Payload):
    name: str = Field(min_length=1)
    properties: dict[str, Any] = Field(default_factory=dict)


PAYLOAD_SCHEMAS: dict[str, type[Payload]] = {
    EventType.CONTACT_CREATED: ContactCreated,
    EventType.CONTACT_UPDATED: ContactUpdated,
    EventType.TAG_ADDED: TagChanged,
    EventType.TAG_REMOVED: TagChanged,
    EventType.UNSUBSCRIBED: SubscriptionChanged,
    EventType.RESUBSCRIBED: SubscriptionChanged,
    EventType.ACTIVE: Active,
    EventType.FORM_SUBMITTED: FormSubmitted,
    EventType.PAGE_VISITED: PageVisited,
    EventType.MESSAGE_SENT: MessageSent,
    EventType.EMAIL_DELIVERED: EmailEngagement,
    EventType.EMAIL_OPENED: EmailEngagement,
    EventType.EMAIL_CLICKED: EmailEngagement,
    EventType.SMS_RECEIVED: SmsReceived,
    EventType.PRODUCT_PURCHASED: ProductPurchased,
    EventType.PRODUCT_ADDED: ProductChanged,
    EventType.PRODUCT_REMOVED: ProductChanged,
    EventType.SUBSCRIPTION_STARTED: PlanChanged,
    EventType.SUBSCRIPTION_ENDED: PlanChanged,
    EventType.COURSE_ACCOUNT_CREATED: CourseAccount,
    EventType.COURSE_STARTED: CourseChanged,
    EventType.COURSE_STEP_COMPLETED: CourseStepCompleted,
    EventType.COURSE_COMPLETED: CourseChanged,
    EventType.CUSTOM: CustomEvent,
}
