"""What conditions may read about one contact, as of one moment: the projections load
it, the pure evaluator decides on it. Loaders fill only the groups a condition needs
(see FACT_GROUPS), so unrelated groups stay empty."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EmailTouch(BaseModel):
    """One open or click, attributed to the message and (when known) the flow step."""

    model_config = ConfigDict(frozen=True)

    message_key: str | None = None
    flow_id: str | None = None
    step_id: str | None = None
    url: str | None = None


class LeadEventFact(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    properties: dict[str, Any] = Field(default_factory=dict)


class ContactSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    contact_id: str
    email: str | None = None
    phone: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    created_at: datetime | None = None
    # commerce
    products: frozenset[str] = frozenset()
    purchased: frozenset[str] = frozenset()
    subscriptions: dict[str, bool] = Field(default_factory=dict, description="plan -> active now")
    # courses
    has_course_account: bool = False
    courses_started: frozenset[str] = frozenset()
    courses_completed: frozenset[str] = frozenset()
    course_steps: frozenset[tuple[str, str]] = frozenset()
    last_active_at: datetime | None = None
    # messaging
    opens: tuple[EmailTouch, ...] = ()
    clicks: tuple[EmailTouch, ...] = ()
    unsubscribed: frozenset[str] = frozenset()
    topics_left: frozenset[tuple[str, str]] = Field(
        default_factory=frozenset, description="(topic, channel) the contact opted out of"
    )
    last_reply: str | None = None
    # The contact's IANA zone, resolved with the deployment's defaults by a loader that
    # knows them (clock conditions with timezone "contact"); None: resolved from the
    # contact's own data, falling back to UTC.
    zone: str | None = None
    # web
    funnels: frozenset[str] = frozenset()
    pages: frozenset[tuple[str, str]] = Field(
        default_factory=frozenset, description="(page, funnel or '')"
    )
    form_submits: dict[str, datetime] = Field(default_factory=dict, description="form -> last")
    lead_events: tuple[LeadEventFact, ...] = ()

    def field(self, name: str) -> Any:
        if name in ("email", "phone", "contact_id"):
            return getattr(self, name)
        return self.attributes.get(name)


# Which loader group each predicate kind reads; kinds not listed need no stored data.
FACT_GROUPS: dict[str, str] = {
    "has_tag": "tags",
    "attribute": "attributes",
    "date_added": "contact",
    "has_product": "products",
    "purchased_product": "purchases",
    "has_subscription": "subscriptions",
    "has_account": "courses",
    "course_started": "courses",
    "course_completed": "courses",
    "course_step_completed": "courses",
    "last_active": "contact",
    "opened_email": "engagement",
    "clicked_link": "engagement",
    "unsubscribed": "channels",
    "reply_contains": "contact",
    "inside_funnel": "web",
    "visited_page": "web",
    "last_form_submit": "web",
    "lead_event": "lead_events",
}
