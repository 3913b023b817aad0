"""Every event type's stable type string and payload schema.

Type strings are part of the stored history (event store rows, workflow signals), so
they are past-tense names that never change; a payload change bumps `schema_version`
instead of renaming the type."""

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from domain.payload_base import Name, OptionalName, Payload


class EventType(StrEnum):
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    TAG_ADDED = "contact.tag_added"
    TAG_REMOVED = "contact.tag_removed"
    UNSUBSCRIBED = "contact.unsubscribed"
    RESUBSCRIBED = "contact.resubscribed"
    PREFERENCES_CHANGED = "contact.preferences_changed"
    ACTIVE = "contact.active"
    FORM_SUBMITTED = "form.submitted"
    PAGE_VISITED = "page.visited"
    MESSAGE_SENT = "message.sent"
    EMAIL_DELIVERED = "email.delivered"
    EMAIL_OPENED = "email.opened"
    EMAIL_CLICKED = "email.clicked"
    EMAIL_BOUNCED = "email.bounced"
    EMAIL_SPAM_REPORTED = "email.spam_reported"
    SMS_STATUS_CHANGED = "sms.status_changed"
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
    WEBHOOK_RESPONDED = "webhook.responded"
    SCRIPT_COMPLETED = "script.completed"
    SCRIPT_FAILED = "script.failed"
    JOURNEY_CONVERTED = "journey.converted"
    CUSTOM = "custom"


class ContactCreated(Payload):
    email: str | None = None
    phone: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class ContactUpdated(Payload):
    """Attributes set to null are cleared; absent ones are left alone."""

    email: str | None = None
    phone: str | None = None
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Attributes to set, by name; one set to null is cleared, one left out is left alone."
        ),
    )


MAX_TAG_LENGTH = 100


class TagChanged(Payload):
    tag: str = Field(min_length=1, max_length=MAX_TAG_LENGTH)


Channel = Literal["email", "sms"]


class SubscriptionChanged(Payload):
    """Unsubscribed from / resubscribed to a channel (optionally one list of it)."""

    channel: Channel
    list_id: OptionalName = Field(
        default=None,
        description=(
            "One list of the channel (e.g. a SendGrid unsubscribe group); without it, the "
            "whole channel."
        ),
    )


class PreferencesChanged(Payload):
    """The contact opted out of, or back into, one subscription topic on one channel."""

    topic: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="A topic of DRIPSTONE_SUBSCRIPTION_TOPICS, e.g. newsletter.",
    )
    channel: Channel
    subscribed: bool = Field(description="false: opted out; true: opted back in.")
    via: Literal["preference_page", "one_click", "api"] = Field(
        default="api",
        description="Where the contact said so: the preference page, an "
        "email client's one-click unsubscribe (RFC 8058), or your service.",
    )


class Active(Payload):
    platform: str | None = None


class FormSubmitted(Payload):
    form_id: Name
    funnel: OptionalName = Field(
        default=None,
        description=("The funnel the form is in; the contact then counts as inside that funnel."),
    )
    page: OptionalName = Field(
        default=None,
        description=("The page the form is on; the contact then counts as having visited it."),
    )
    fields: dict[str, Any] = Field(
        default_factory=dict, description="The submitted fields, by name."
    )


class PageVisited(Payload):
    page: Name
    funnel: OptionalName = None
    url: str | None = None


class MessageSent(Payload):
    channel: str
    message_key: str
    flow_id: str | None = None
    mailing_id: str | None = None
    step_id: str | None = None
    to: str
    provider_message_id: str | None = None
    transactional: bool = Field(
        default=False, description=("A receipt or notice: frequency caps leave it out.")
    )
    segments: int | None = Field(default=None, description="SMS only: the parts the carrier bills.")
    encoding: str | None = Field(
        default=None, description=("SMS only: the encoding that decided the segments.")
    )
    # Added with topics, locales and experiments: absent from older events, which
    # still validate (each defaults to None: unknown).
    topic: str | None = Field(
        default=None,
        max_length=64,
        description=(
            "The subscription topic the message was sent under (none for a transactional one)."
        ),
    )
    locale: str | None = Field(
        default=None,
        max_length=64,
        description=(
            "The locale variant sent (its key in the step's `locales`); none: the default content."
        ),
    )
    variant: str | None = Field(
        default=None, max_length=100, description=("An experiment step's variant that was sent.")
    )
    variant_phase: Literal["test", "winner"] | None = Field(
        default=None,
        description=(
            "An experiment step's: test (assigned by hash) or winner (after the decision)."
        ),
    )


class EmailEngagement(Payload):
    """Delivered / opened / clicked: per message (message_key, and the flow step that sent
    it when known) and, for clicks, per link."""

    message_key: str | None = Field(default=None, max_length=400)
    flow_id: str | None = Field(default=None, max_length=64)
    step_id: str | None = Field(default=None, max_length=64)
    url: str | None = Field(default=None, description="email.clicked: the link clicked.")


class EmailBounced(Payload):
    """A bounce reported by the provider. `bounce_type` "bounce" is permanent (the address
    is dead); "blocked" is the receiving server refusing for now. `email` is the address
    that bounced, so a later change of address is not suppressed by an old bounce."""

    message_key: str | None = Field(default=None, max_length=400)
    flow_id: str | None = Field(default=None, max_length=64)
    step_id: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320, description="The address that bounced.")
    bounce_type: Literal["bounce", "blocked"] = Field(
        default="bounce",
        description=(
            "bounce: permanent (the address is dead); blocked: the receiving server refusing "
            "for now."
        ),
    )
    reason: str | None = None
    status: str | None = None


class SmsStatusChanged(Payload):
    """A delivery status the SMS provider reported for one message we sent."""

    message_sid: str = Field(min_length=1, max_length=64)
    status: str = Field(min_length=1, max_length=30)
    error_code: str | None = None
    message_key: str | None = Field(default=None, max_length=400)
    flow_id: str | None = Field(default=None, max_length=64)
    step_id: str | None = Field(default=None, max_length=64)


class SmsReceived(Payload):
    body: str = Field(
        description=(
            "The text received; a keyword alone (STOP, START...) unsubscribes or resubscribes "
            "the contact from SMS."
        )
    )
    from_number: str | None = None
    opt_out_type: str | None = Field(
        default=None,
        max_length=20,
        description=(
            "Twilio's Advanced Opt-Out classification (STOP, START, HELP) of a custom keyword."
        ),
    )


class ProductPurchased(Payload):
    product: Name
    quantity: int = Field(default=1, ge=1)
    amount: float | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, max_length=10)


class ProductChanged(Payload):
    product: Name


class PlanChanged(Payload):
    plan: Name


class CourseAccount(Payload):
    platform: str | None = None


class CourseChanged(Payload):
    course: Name


class CourseStepCompleted(Payload):
    course: Name
    step: Name


class CustomEvent(Payload):
    name: str = Field(
        min_length=1,
        description=("What happened; triggers, waits and lead_event conditions match it."),
    )
    properties: dict[str, Any] = Field(
        default_factory=dict,
        description=("Anything else about it, by name; lead_event conditions read these."),
    )


class WebhookResponded(Payload):
    """A webhook step's final answer, kept so a later condition (lead_event) can read
    `status` or `body`. The URL is stored without its query, which may carry secrets."""

    flow_id: str | None = None
    step_id: str | None = None
    url: str = Field(description="The URL called, without its query.")
    status: int = Field(description="The HTTP status of the final answer.")
    body: str = ""
    truncated: bool = False
    json_body: Any = Field(
        default=None,
        alias="json",
        description="The body parsed, when it "
        "is JSON and was not cut short: a lead_event condition reads its "
        "fields as `json.<field>`, e.g. property json.plan.",
    )


class ScriptRun(Payload):
    """script.completed (with the script's result) or script.failed (with the reason)."""

    script: str
    flow_id: str | None = None
    step_id: str | None = None
    result: dict[str, Any] = Field(
        default_factory=dict, description="script.completed: what the script returned."
    )
    reason: str | None = Field(default=None, description="script.failed: why.")


class JourneyConverted(Payload):
    """A journey met a goal: once per enrollment, attributed to the last step reached."""

    flow_id: str
    flow_version: int
    goal_step: str
    step_id: str | None = Field(
        default=None, description=("The last step reached, which the conversion is attributed to.")
    )
    journey_id: str
    enrollment_id: str


CORE_PAYLOAD_SCHEMAS: dict[str, type[Payload]] = {
    EventType.CONTACT_CREATED: ContactCreated,
    EventType.CONTACT_UPDATED: ContactUpdated,
    EventType.TAG_ADDED: TagChanged,
    EventType.TAG_REMOVED: TagChanged,
    EventType.UNSUBSCRIBED: SubscriptionChanged,
    EventType.RESUBSCRIBED: SubscriptionChanged,
    EventType.PREFERENCES_CHANGED: PreferencesChanged,
    EventType.ACTIVE: Active,
    EventType.FORM_SUBMITTED: FormSubmitted,
    EventType.PAGE_VISITED: PageVisited,
    EventType.MESSAGE_SENT: MessageSent,
    EventType.EMAIL_DELIVERED: EmailEngagement,
    EventType.EMAIL_OPENED: EmailEngagement,
    EventType.EMAIL_CLICKED: EmailEngagement,
    EventType.EMAIL_BOUNCED: EmailBounced,
    EventType.EMAIL_SPAM_REPORTED: EmailEngagement,
    EventType.SMS_STATUS_CHANGED: SmsStatusChanged,
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
    EventType.WEBHOOK_RESPONDED: WebhookResponded,
    EventType.SCRIPT_COMPLETED: ScriptRun,
    EventType.SCRIPT_FAILED: ScriptRun,
    EventType.JOURNEY_CONVERTED: JourneyConverted,
    EventType.CUSTOM: CustomEvent,
}
