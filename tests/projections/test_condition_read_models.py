"""Every predicate decided from read models: real events -> ingest -> load_snapshot with
the condition's fact groups -> evaluate, once true and once false per predicate kind."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter

from domain.conditions import Condition, evaluate, fact_groups, lead_event_names
from domain.events import EventType as T
from domain.predicates import PREDICATES
from projections.contacts import load_snapshot
from projections.event_store import ingest
from tests.journey_harness import event

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
CONDITION = TypeAdapter(Condition)
PRICING, OTHER = "https://example.com/pricing", "https://example.com/other"


@dataclass(frozen=True)
class Case:
    kind: str
    label: str
    # (type, payload, when): when is days after T0, or a datetime
    events: tuple[tuple[str, dict[str, Any], Any], ...]
    condition: dict[str, Any]
    expected: bool
    now: datetime = NOW

    def stream(self):
        created = event("c1", T.CONTACT_CREATED, {"email": "ann@example.com"}, occurred_at=T0)
        return [created] + [
            event(
                "c1",
                type_,
                payload,
                occurred_at=when if isinstance(when, datetime) else T0 + timedelta(days=when),
            )
            for type_, payload, when in self.events
        ]


def case(label: str, events: list, condition: dict, expected: bool, now: datetime = NOW):
    kind = condition["condition"]["kind"] if condition["kind"] == "not" else condition["kind"]
    return pytest.param(
        Case(kind, label, tuple(events), condition, expected, now), id=f"{kind}-{label}-{expected}"
    )


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


SENT = (
    T.MESSAGE_SENT,
    {
        "channel": "email",
        "message_key": "k1",
        "flow_id": "welcome",
        "step_id": "hello",
        "to": "ann@example.com",
    },
    1,
)
CLICK = (T.EMAIL_CLICKED, {"message_key": "k1", "url": PRICING}, 2)  # attributed by SENT
OPEN_HELLO = (T.EMAIL_OPENED, {"message_key": "k1", "flow_id": "welcome", "step_id": "hello"}, 2)
TAG = {"kind": "has_tag", "tag": "vip"}
PLAN_PRO = {"kind": "attribute", "field": "plan", "op": "eq", "value": "pro"}
HELLO_CLICK = {"kind": "clicked_link", "flow_id": "welcome", "step_id": "hello"}
HELLO_OPEN = {"kind": "opened_email", "flow_id": "welcome", "step_id": "hello"}
GOLD = {"kind": "has_subscription", "plan": "gold"}
RECENT = {"kind": "last_active", "test": {"op": "within_last", "within": "7d"}}
LAPSED = {"kind": "last_active", "test": {"op": "not_within_last", "within": "7d"}}
PRODUCT = {"kind": "has_product", "product": "ebook"}
BOUGHT = {"kind": "purchased_product", "product": "ebook"}
TRIAL = {"kind": "lead_event", "event": "trial_started"}
STOP = {"kind": "reply_contains", "keywords": ["stop"]}
EMAIL_OFF = {"kind": "unsubscribed", "channel": "email"}


def form(day, form_id="signup", **extra):
    return (T.FORM_SUBMITTED, {"form_id": form_id, **extra}, day)


def date_test(kind, op, **test):
    return {"kind": kind, "test": {"op": op, **test}}


CASES = [
    case("added", [(T.TAG_ADDED, {"tag": "vip"}, 1)], TAG, True),
    case(
        "removed",
        [(T.TAG_ADDED, {"tag": "vip"}, 1), (T.TAG_REMOVED, {"tag": "vip"}, 2)],
        TAG,
        False,
    ),
    case("set", [(T.CONTACT_UPDATED, {"attributes": {"plan": "pro"}}, 1)], PLAN_PRO, True),
    case(
        "overwritten",
        [form(1, fields={"plan": "pro"}), (T.CONTACT_UPDATED, {"attributes": {"plan": "free"}}, 2)],
        PLAN_PRO,
        False,
    ),
    case("per-message", [SENT, CLICK], HELLO_CLICK, True),
    case("open-is-no-click", [SENT, OPEN_HELLO], HELLO_CLICK, False),
    case("other-step", [SENT, CLICK], {**HELLO_CLICK, "step_id": "followup"}, False),
    case("per-url", [SENT, CLICK], {"kind": "clicked_link", "url": PRICING}, True),
    case("other-url", [SENT, CLICK], {"kind": "clicked_link", "url": OTHER}, False),
    case("flow-step", [SENT, OPEN_HELLO], HELLO_OPEN, True),
    case("other-flow-step", [SENT, OPEN_HELLO], {**HELLO_OPEN, "step_id": "followup"}, False),
    case("sent-not-opened", [SENT], HELLO_OPEN, False),
    case("click-implies-open", [SENT, CLICK], HELLO_OPEN, True),
    case(
        "sent-arrives-after-open",
        [(T.EMAIL_OPENED, {"message_key": "k1"}, 2), SENT],
        HELLO_OPEN,
        True,
    ),
    case(
        "started",
        [(T.COURSE_STARTED, {"course": "py"}, 1)],
        {"kind": "course_started", "course": "py"},
        True,
    ),
    case(
        "step-implies-start",
        [(T.COURSE_STEP_COMPLETED, {"course": "py", "step": "s1"}, 1)],
        {"kind": "course_started", "course": "py"},
        True,
    ),
    case(
        "other-course",
        [(T.COURSE_STARTED, {"course": "go"}, 1)],
        {"kind": "course_started", "course": "py"},
        False,
    ),
    case(
        "completed",
        [(T.COURSE_STARTED, {"course": "py"}, 1), (T.COURSE_COMPLETED, {"course": "py"}, 3)],
        {"kind": "course_completed", "course": "py"},
        True,
    ),
    case(
        "only-started",
        [(T.COURSE_STARTED, {"course": "py"}, 1)],
        {"kind": "course_completed", "course": "py"},
        False,
    ),
    case(
        "step",
        [(T.COURSE_STEP_COMPLETED, {"course": "py", "step": "s1"}, 1)],
        {"kind": "course_step_completed", "course": "py", "step": "s1"},
        True,
    ),
    case(
        "step-of-other-course",
        [(T.COURSE_STEP_COMPLETED, {"course": "go", "step": "s1"}, 1)],
        {"kind": "course_step_completed", "course": "py", "step": "s1"},
        False,
    ),
    case(
        "account",
        [(T.COURSE_ACCOUNT_CREATED, {"platform": "tj"}, 1)],
        {"kind": "has_account"},
        True,
    ),
    case(
        "course-implies-account",
        [(T.COURSE_STARTED, {"course": "py"}, 1)],
        {"kind": "has_account"},
        True,
    ),
    case("none", [(T.ACTIVE, {}, 1)], {"kind": "has_account"}, False),
    case("current", [(T.SUBSCRIPTION_STARTED, {"plan": "gold"}, 1)], GOLD, True),
    case(
        "ended",
        [
            (T.SUBSCRIPTION_STARTED, {"plan": "gold"}, 1),
            (T.SUBSCRIPTION_ENDED, {"plan": "gold"}, 5),
        ],
        GOLD,
        False,
    ),
    case(
        "ever-had",
        [
            (T.SUBSCRIPTION_STARTED, {"plan": "gold"}, 1),
            (T.SUBSCRIPTION_ENDED, {"plan": "gold"}, 5),
        ],
        {**GOLD, "currently": False},
        True,
    ),
    case(
        "any-plan-ended",
        [
            (T.SUBSCRIPTION_STARTED, {"plan": "gold"}, 1),
            (T.SUBSCRIPTION_ENDED, {"plan": "gold"}, 5),
        ],
        {"kind": "has_subscription"},
        False,
    ),
    case("other-plan", [(T.SUBSCRIPTION_STARTED, {"plan": "silver"}, 1)], GOLD, False),
    case("within", [(T.ACTIVE, {}, ago(30)), (T.ACTIVE, {}, ago(2))], RECENT, True),
    case(
        "course-step-is-activity",
        [(T.COURSE_STEP_COMPLETED, {"course": "py", "step": "s"}, ago(1))],
        RECENT,
        True,
    ),
    case("older-activity-late", [(T.ACTIVE, {}, ago(2)), (T.ACTIVE, {}, ago(30))], RECENT, True),
    case("too-long-ago", [(T.ACTIVE, {}, ago(30)), (T.ACTIVE, {}, ago(40))], RECENT, False),
    case("lapsed", [(T.ACTIVE, {}, ago(30))], LAPSED, True),
    case("never-active", [], RECENT, False),
    case("not-lapsed", [(T.ACTIVE, {}, ago(2))], LAPSED, False),
    case("on", [], date_test("current_date", "on", date="2024-06-01"), True),
    case("before", [], date_test("current_date", "before", date="2024-06-01"), False),
    case("inside", [], {"kind": "current_time", "after": "11:00", "before": "13:00"}, True),
    case("outside", [], {"kind": "current_time", "after": "13:00"}, False),
    case("before", [], date_test("date_added", "before", date="2024-05-02"), True),
    case("after", [], date_test("date_added", "after", date="2024-05-02"), False),
    case(
        "late-older-event",
        [(T.TAG_ADDED, {"tag": "x"}, -10)],
        date_test("date_added", "before", date="2024-04-25"),
        True,
    ),
    case("within", [], date_test("date_added", "within_last", within="7d"), False),
    case(
        "after",
        [form(19)],
        {**date_test("last_form_submit", "after", date="2024-05-15"), "form_id": "signup"},
        True,
    ),
    case(
        "before",
        [form(19)],
        {**date_test("last_form_submit", "before", date="2024-05-15"), "form_id": "signup"},
        False,
    ),
    case(
        "last-of-two",
        [form(19), form(2)],
        date_test("last_form_submit", "before", date="2024-05-10"),
        False,
    ),
    case(
        "any-form-within",
        [form(19, "quiz")],
        date_test("last_form_submit", "within_last", within="14d"),
        True,
    ),
    case(
        "other-form",
        [form(19, "quiz")],
        {**date_test("last_form_submit", "is_set"), "form_id": "signup"},
        False,
    ),
    case("added", [(T.PRODUCT_ADDED, {"product": "ebook"}, 1)], PRODUCT, True),
    case("purchased", [(T.PRODUCT_PURCHASED, {"product": "ebook"}, 1)], PRODUCT, True),
    case(
        "removed",
        [(T.PRODUCT_ADDED, {"product": "ebook"}, 1), (T.PRODUCT_REMOVED, {"product": "ebook"}, 2)],
        PRODUCT,
        False,
    ),
    case(
        "purchased-then-removed",
        [
            (T.PRODUCT_PURCHASED, {"product": "ebook"}, 1),
            (T.PRODUCT_REMOVED, {"product": "ebook"}, 2),
        ],
        PRODUCT,
        False,
    ),
    case(
        "older-add-late",
        [(T.PRODUCT_REMOVED, {"product": "ebook"}, 2), (T.PRODUCT_ADDED, {"product": "ebook"}, 1)],
        PRODUCT,
        False,
    ),
    case(
        "bought",
        [
            (T.PRODUCT_PURCHASED, {"product": "ebook", "amount": 9.5, "currency": "EUR"}, 1),
            (T.PRODUCT_REMOVED, {"product": "ebook"}, 2),
        ],
        BOUGHT,
        True,
    ),
    case("only-added", [(T.PRODUCT_ADDED, {"product": "ebook"}, 1)], BOUGHT, False),
    case(
        "page-in-funnel",
        [(T.PAGE_VISITED, {"page": "agenda", "funnel": "webinars"}, 1)],
        {"kind": "inside_funnel", "funnel": "webinars"},
        True,
    ),
    case(
        "form-in-funnel",
        [form(1, funnel="workshops")],
        {"kind": "inside_funnel", "funnel": "workshops"},
        True,
    ),
    case(
        "page-without-funnel",
        [(T.PAGE_VISITED, {"page": "agenda"}, 1)],
        {"kind": "inside_funnel", "funnel": "webinars"},
        False,
    ),
    case(
        "any-funnel",
        [(T.PAGE_VISITED, {"page": "agenda", "funnel": "webinars"}, 1)],
        {"kind": "visited_page", "page": "agenda"},
        True,
    ),
    case(
        "in-funnel",
        [(T.PAGE_VISITED, {"page": "agenda", "funnel": "webinars"}, 1)],
        {"kind": "visited_page", "page": "agenda", "funnel": "webinars"},
        True,
    ),
    case(
        "form-page",
        [form(1, page="landing", funnel="workshops")],
        {"kind": "visited_page", "page": "landing", "funnel": "workshops"},
        True,
    ),
    case(
        "other-funnel",
        [(T.PAGE_VISITED, {"page": "agenda", "funnel": "webinars"}, 1)],
        {"kind": "visited_page", "page": "agenda", "funnel": "workshops"},
        False,
    ),
    case(
        "other-page",
        [(T.PAGE_VISITED, {"page": "pricing"}, 1)],
        {"kind": "visited_page", "page": "agenda"},
        False,
    ),
    case(
        "custom",
        [(T.CUSTOM, {"name": "trial_started", "properties": {"plan": "pro"}}, 1)],
        TRIAL,
        True,
    ),
    case(
        "property",
        [(T.CUSTOM, {"name": "trial_started", "properties": {"plan": "pro"}}, 1)],
        {**TRIAL, "property": "plan", "op": "eq", "value": "pro"},
        True,
    ),
    case(
        "property-differs",
        [(T.CUSTOM, {"name": "trial_started", "properties": {"plan": "pro"}}, 1)],
        {**TRIAL, "property": "plan", "op": "eq", "value": "basic"},
        False,
    ),
    case(
        "typed-event",
        [(T.PRODUCT_PURCHASED, {"product": "ebook"}, 1)],
        {
            "kind": "lead_event",
            "event": "product.purchased",
            "property": "product",
            "value": "ebook",
        },
        True,
    ),
    case("absent", [(T.CUSTOM, {"name": "webinar_joined"}, 1)], TRIAL, False),
    case("always", [], {"kind": "not_chosen"}, True),
    case("negated", [], {"kind": "not", "condition": {"kind": "not_chosen"}}, False),
    case("whole-word", [(T.SMS_RECEIVED, {"body": "Please STOP texting me"}, 1)], STOP, True),
    case("inside-a-word", [(T.SMS_RECEIVED, {"body": "you are unstoppable"}, 1)], STOP, False),
    case(
        "older-reply-late",
        [(T.SMS_RECEIVED, {"body": "thanks!"}, 3), (T.SMS_RECEIVED, {"body": "STOP"}, 2)],
        STOP,
        False,
    ),
    case(
        "all-keywords",
        [(T.SMS_RECEIVED, {"body": "Yes, please."}, 1)],
        {"kind": "reply_contains", "keywords": ["please", "YES"], "match": "all"},
        True,
    ),
    case("unsubscribed", [(T.UNSUBSCRIBED, {"channel": "email"}, 1)], EMAIL_OFF, True),
    case(
        "resubscribed",
        [(T.UNSUBSCRIBED, {"channel": "email"}, 1), (T.RESUBSCRIBED, {"channel": "email"}, 2)],
        EMAIL_OFF,
        False,
    ),
    case(
        "older-resubscribe-late",
        [(T.UNSUBSCRIBED, {"channel": "email"}, 2), (T.RESUBSCRIBED, {"channel": "email"}, 1)],
        EMAIL_OFF,
        True,
    ),
    case(
        "one-list-only",
        [(T.UNSUBSCRIBED, {"channel": "email", "list_id": "news"}, 1)],
        EMAIL_OFF,
        False,
    ),
    case("other-channel", [(T.UNSUBSCRIBED, {"channel": "sms"}, 1)], EMAIL_OFF, False),
]


def test_every_predicate_kind_has_a_true_and_a_false_case():
    kinds = {model.model_fields["kind"].default for model in PREDICATES}
    for expected in (True, False):
        assert {p.values[0].kind for p in CASES if p.values[0].expected is expected} == kinds


@pytest.mark.parametrize("case", CASES)
def test_condition_is_decided_from_the_read_models(engine, case: Case):
    ingest(engine, case.stream())
    condition = CONDITION.validate_python(case.condition)
    with engine.connect() as conn:
        needed = load_snapshot(
            conn, "c1", fact_groups(condition), lead_events=lead_event_names(condition)
        )
        everything = load_snapshot(conn, "c1")
    assert evaluate(condition, needed, case.now) is case.expected
    # Loading only the condition's groups decides exactly as loading everything.
    assert evaluate(condition, everything, case.now) is case.expected
