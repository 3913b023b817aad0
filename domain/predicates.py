"""The leaf predicates conditions are built from: every condition type in the seeds
([000] list, plus reply keywords [004] and unsubscribed [003]).

Settings default to empty so a draft can hold an unfinished condition; validation
says what is missing. Evaluation lives in domain.conditions."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.durations import Duration


class _Leaf(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    if TYPE_CHECKING:
        kind: str = ""  # each leaf narrows it to a Literal, the union's discriminator


class DateTest(_Leaf):
    """A date compared with a fixed date, a range, or a rolling window ending now."""

    op: Literal[
        "before", "after", "on", "between", "within_last", "not_within_last", "is_set", "is_not_set"
    ] = "after"
    date: dt.date | None = None
    date_to: dt.date | None = None
    within: Duration | None = None


AttributeOperator = Literal[
    "eq", "ne", "gt", "gte", "lt", "lte", "contains", "starts_with", "is_set", "is_not_set", "in"
]
OPERATORS_WITHOUT_VALUE = {"is_set", "is_not_set"}


class HasTag(_Leaf):
    kind: Literal["has_tag"] = "has_tag"
    tag: str = ""


class AttributeCompare(_Leaf):
    """Lead / contact attribute: =, !=, >, >=, <, <=, contains, starts with, is set, is not set, in list."""

    kind: Literal["attribute"] = "attribute"
    field: str = ""
    op: AttributeOperator = "eq"
    value: Any = None


class ClickedLink(_Leaf):
    """Clicked a link in an email; narrowed to one email step and/or one URL if given."""

    kind: Literal["clicked_link"] = "clicked_link"
    flow_id: str | None = None
    step_id: str | None = None
    url: str | None = None


class OpenedEmail(_Leaf):
    kind: Literal["opened_email"] = "opened_email"
    flow_id: str | None = None
    step_id: str | None = None


class CourseStarted(_Leaf):
    kind: Literal["course_started"] = "course_started"
    course: str = ""


class CourseCompleted(_Leaf):
    kind: Literal["course_completed"] = "course_completed"
    course: str = ""


class CourseStepCompleted(_Leaf):
    kind: Literal["course_step_completed"] = "course_step_completed"
    course: str = ""
    step: str = ""


class HasAccount(_Leaf):
    """Has a course-platform account, whatever the subscription."""

    kind: Literal["has_account"] = "has_account"


class HasSubscription(_Leaf):
    """Has ever had (currently=False) or currently has a subscription, optionally to one plan."""

    kind: Literal["has_subscription"] = "has_subscription"
    plan: str | None = None
    currently: bool = True


class LastActive(_Leaf):
    kind: Literal["last_active"] = "last_active"
    test: DateTest = Field(default_factory=DateTest)


# A clock leaf's `timezone` naming no fixed zone: the contact's own (its time zone
# attribute, else its phone number's zone, else the flow's or the system default).
CONTACT_ZONE = "contact"


class CurrentDate(_Leaf):
    """Today's date in `timezone` (IANA name, or "contact") against a date or range."""

    kind: Literal["current_date"] = "current_date"
    test: DateTest = Field(default_factory=DateTest)
    timezone: str = "UTC"


class CurrentTime(_Leaf):
    """The time of day in `timezone` (IANA name, or "contact": business hours in the
    contact's own zone) is inside [after, before); wraps past midnight if after > before."""

    kind: Literal["current_time"] = "current_time"
    after: dt.time | None = None
    before: dt.time | None = None
    timezone: str = "UTC"


class DateAdded(_Leaf):
    kind: Literal["date_added"] = "date_added"
    test: DateTest = Field(default_factory=DateTest)


class LastFormSubmit(_Leaf):
    kind: Literal["last_form_submit"] = "last_form_submit"
    form_id: str | None = None
    test: DateTest = Field(default_factory=DateTest)


class HasProduct(_Leaf):
    kind: Literal["has_product"] = "has_product"
    product: str = ""


class PurchasedProduct(_Leaf):
    kind: Literal["purchased_product"] = "purchased_product"
    product: str = ""


class InsideFunnel(_Leaf):
    kind: Literal["inside_funnel"] = "inside_funnel"
    funnel: str = ""


class VisitedPage(_Leaf):
    kind: Literal["visited_page"] = "visited_page"
    page: str = ""
    funnel: str | None = None


class LeadEvent(_Leaf):
    """The lead triggered an event (optionally with a property matching a value)."""

    kind: Literal["lead_event"] = "lead_event"
    event: str = ""
    property: str | None = None
    op: AttributeOperator = "eq"
    value: Any = None


class NotChosen(_Leaf):
    """No condition selected: always true."""

    kind: Literal["not_chosen"] = "not_chosen"


class ReplyContains(_Leaf):
    """The contact's latest SMS reply contains any (or all) of the keywords [004]."""

    kind: Literal["reply_contains"] = "reply_contains"
    keywords: list[str] = Field(default_factory=list)
    match: Literal["any", "all"] = "any"


class Unsubscribed(_Leaf):
    """Opted out of the channel; with `topic`, of that topic on the channel (leaving the
    whole channel counts too)."""

    kind: Literal["unsubscribed"] = "unsubscribed"
    channel: Literal["email", "sms"] = "email"
    topic: str | None = Field(default=None, description="A subscription topic, e.g. newsletter.")


PREDICATES = (
    HasTag,
    AttributeCompare,
    ClickedLink,
    OpenedEmail,
    CourseStarted,
    CourseCompleted,
    CourseStepCompleted,
    HasAccount,
    HasSubscription,
    LastActive,
    CurrentDate,
    CurrentTime,
    DateAdded,
    LastFormSubmit,
    HasProduct,
    PurchasedProduct,
    InsideFunnel,
    VisitedPage,
    LeadEvent,
    NotChosen,
    ReplyContains,
    Unsubscribed,
)
# Decided from the workflow's own clock, with no read model: evaluated in the workflow.
DATA_FREE = (CurrentDate, CurrentTime, NotChosen)
