"""Every predicate kind: parsing, nesting in all/any/not trees, round-trips, evaluation."""

from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from domain import predicates as p
from domain.conditions import AllOf, AnyOf, Condition, ContactSnapshot, Not, evaluate, walk

CONDITION = TypeAdapter(Condition)
NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
CONTACT = ContactSnapshot(
    contact_id="c1",
    email="ann@example.com",
    attributes={"plan": "pro", "age": 34},
    tags=frozenset({"vip"}),
)

EXPECTED_KINDS = {
    "has_tag",
    "attribute",
    "clicked_link",
    "opened_email",
    "course_started",
    "course_completed",
    "course_step_completed",
    "has_account",
    "has_subscription",
    "last_active",
    "current_date",
    "current_time",
    "date_added",
    "last_form_submit",
    "has_product",
    "purchased_product",
    "inside_funnel",
    "visited_page",
    "lead_event",
    "not_chosen",
    "reply_contains",
    "unsubscribed",
}

# One realistic, fully-specified document per predicate kind: (document, model).
EXAMPLES = {
    "has_tag": ({"kind": "has_tag", "tag": "vip"}, p.HasTag),
    "attribute": (
        {"kind": "attribute", "field": "plan", "op": "in", "value": ["pro", "team"]},
        p.AttributeCompare,
    ),
    "clicked_link": (
        {
            "kind": "clicked_link",
            "flow_id": "welcome",
            "step_id": "intro",
            "url": "https://example.com/pricing",
        },
        p.ClickedLink,
    ),
    "opened_email": (
        {"kind": "opened_email", "flow_id": "welcome", "step_id": "intro"},
        p.OpenedEmail,
    ),
    "course_started": ({"kind": "course_started", "course": "python-101"}, p.CourseStarted),
    "course_completed": ({"kind": "course_completed", "course": "python-101"}, p.CourseCompleted),
    "course_step_completed": (
        {"kind": "course_step_completed", "course": "python-101", "step": "lesson-3"},
        p.CourseStepCompleted,
    ),
    "has_account": ({"kind": "has_account"}, p.HasAccount),
    "has_subscription": (
        {"kind": "has_subscription", "plan": "pro-monthly", "currently": False},
        p.HasSubscription,
    ),
    "last_active": (
        {"kind": "last_active", "test": {"op": "within_last", "within": "2w"}},
        p.LastActive,
    ),
    "current_date": (
        {
            "kind": "current_date",
            "test": {"op": "between", "date": "2024-12-01", "date_to": "2024-12-24"},
        },
        p.CurrentDate,
    ),
    "current_time": ({"kind": "current_time", "after": "22:00", "before": "06:00"}, p.CurrentTime),
    "date_added": (
        {"kind": "date_added", "test": {"op": "before", "date": "2024-01-01"}},
        p.DateAdded,
    ),
    "last_form_submit": (
        {
            "kind": "last_form_submit",
            "form_id": "webinar-signup",
            "test": {"op": "not_within_last", "within": "30d"},
        },
        p.LastFormSubmit,
    ),
    "has_product": ({"kind": "has_product", "product": "ebook"}, p.HasProduct),
    "purchased_product": ({"kind": "purchased_product", "product": "ebook"}, p.PurchasedProduct),
    "inside_funnel": ({"kind": "inside_funnel", "funnel": "black-friday"}, p.InsideFunnel),
    "visited_page": (
        {"kind": "visited_page", "page": "pricing", "funnel": "black-friday"},
        p.VisitedPage,
    ),
    "lead_event": (
        {
            "kind": "lead_event",
            "event": "video_watched",
            "property": "percent",
            "op": "gte",
            "value": 75,
        },
        p.LeadEvent,
    ),
    "not_chosen": ({"kind": "not_chosen"}, p.NotChosen),
    "reply_contains": (
        {"kind": "reply_contains", "keywords": ["yes", "sure"], "match": "all"},
        p.ReplyContains,
    ),
    "unsubscribed": ({"kind": "unsubscribed", "channel": "sms"}, p.Unsubscribed),
}
KINDS = sorted(EXAMPLES)


def deep(leaf: dict) -> dict:
    """all( any( not( all( leaf ) ) ) ): the leaf four levels down."""
    return {
        "kind": "all",
        "conditions": [
            {"kind": "has_tag", "tag": "vip"},
            {
                "kind": "any",
                "conditions": [
                    {"kind": "not", "condition": {"kind": "all", "conditions": [leaf]}},
                ],
            },
        ],
    }


def round_trip(condition):
    return CONDITION.validate_python(CONDITION.dump_python(condition, mode="json"))


def test_the_predicate_kinds_are_exactly_the_expected_ones():
    # Adding or removing a predicate must come with examples here.
    assert {cls.model_fields["kind"].default for cls in p.PREDICATES} == EXPECTED_KINDS
    assert set(EXAMPLES) == EXPECTED_KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_predicate_parses_from_a_dict(kind):
    document, model = EXAMPLES[kind]
    parsed = CONDITION.validate_python(document)
    assert type(parsed) is model
    assert parsed.kind == kind
    for key, value in document.items():
        if not isinstance(value, (dict, list)) and key != "kind":
            assert getattr(parsed, key) is not None, key


@pytest.mark.parametrize("kind", KINDS)
def test_predicate_round_trips_through_json(kind):
    parsed = CONDITION.validate_python(EXAMPLES[kind][0])
    assert round_trip(parsed) == parsed


@pytest.mark.parametrize("kind", KINDS)
def test_predicate_nests_three_deep_and_round_trips(kind):
    document, model = EXAMPLES[kind]
    tree = CONDITION.validate_python(deep(document))
    assert isinstance(tree, AllOf)
    inner_any = tree.conditions[1]
    assert isinstance(inner_any, AnyOf)
    inner_not = inner_any.conditions[0]
    assert isinstance(inner_not, Not) and isinstance(inner_not.condition, AllOf)
    leaf = inner_not.condition.conditions[0]
    assert type(leaf) is model
    assert leaf in list(walk(tree))
    assert round_trip(tree) == tree


def test_every_kind_together_in_one_tree_round_trips():
    tree = CONDITION.validate_python(
        {"kind": "any", "conditions": [deep(document) for document, _ in EXAMPLES.values()]}
    )
    leaves = [n for n in walk(tree) if not isinstance(n, (AllOf, AnyOf, Not))]
    assert {leaf.kind for leaf in leaves} == EXPECTED_KINDS
    assert round_trip(tree) == tree


def test_date_settings_parse_into_dates_and_durations():
    tree = CONDITION.validate_python(EXAMPLES["current_date"][0])
    assert tree.test.date.isoformat() == "2024-12-01"
    assert tree.test.date_to.isoformat() == "2024-12-24"
    last = CONDITION.validate_python(EXAMPLES["last_active"][0])
    assert last.test.within.days == 14
    assert CONDITION.dump_python(last, mode="json")["test"]["within"] == "2w"
    night = CONDITION.validate_python(EXAMPLES["current_time"][0])
    assert (night.after.hour, night.before.hour) == (22, 6)


@pytest.mark.parametrize(
    "document",
    [
        {"kind": "has_tag", "tag": "vip", "colour": "red"},  # unknown setting
        {"kind": "unsubscribed", "channel": "fax"},
        {"kind": "attribute", "field": "age", "op": "approximately", "value": 3},
        {"kind": "last_active", "test": {"op": "lately"}},
        {"kind": "teleported"},
        {"kind": "not"},  # not needs its condition
    ],
)
def test_malformed_predicates_are_rejected(document):
    with pytest.raises(ValidationError):
        CONDITION.validate_python(document)


def test_predicates_are_immutable():
    tag = CONDITION.validate_python({"kind": "has_tag", "tag": "vip"})
    with pytest.raises(ValidationError):
        tag.tag = "other"


def check(document) -> bool:
    return evaluate(CONDITION.validate_python(document), CONTACT, NOW)


def test_not_chosen_is_always_true():
    assert check({"kind": "not_chosen"}) is True
    assert check({"kind": "not", "condition": {"kind": "not_chosen"}}) is False
    empty = ContactSnapshot(contact_id="nobody")
    assert evaluate(p.NotChosen(), empty, NOW) is True


def test_has_tag_and_attribute_still_evaluate_inside_deep_trees():
    assert check({"kind": "has_tag", "tag": "vip"}) is True
    assert check({"kind": "attribute", "field": "plan", "op": "in", "value": ["pro"]}) is True
    # all( vip, any( not( all( age >= 40 ) ) ) ): age is 34, so true
    assert check(deep({"kind": "attribute", "field": "age", "op": "gte", "value": 40})) is True
    assert check(deep({"kind": "has_tag", "tag": "vip"})) is False
    assert check(deep({"kind": "not_chosen"})) is False


def test_evaluation_stops_at_the_first_deciding_child():
    # Current behaviour: a decided all/any never looks at the remaining children.
    opened = EXAMPLES["opened_email"][0]
    assert check({"kind": "any", "conditions": [{"kind": "not_chosen"}, opened]}) is True
    assert check({"kind": "all", "conditions": [{"kind": "has_tag", "tag": "x"}, opened]}) is False
