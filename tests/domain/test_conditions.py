"""evaluate(): condition trees over a contact snapshot."""

from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter

from domain.conditions import (
    AllOf,
    AnyOf,
    AttributeCompare,
    Condition,
    ContactSnapshot,
    HasTag,
    Not,
    evaluate,
    uncomparable_attributes,
    walk,
)

NOW = datetime(2024, 6, 1, tzinfo=UTC)
CONTACT = ContactSnapshot(
    contact_id="c1",
    email="ann@example.com",
    phone=None,
    attributes={
        "first_name": "Ann",
        "age": 34,
        "plan": "pro",
        "city": "Berlin",
        "blank": "",
        "empty_list": [],
        "score": 7.5,
        "code": "10",
    },
    tags=frozenset({"vip", "newsletter"}),
)


def attr(field, op, value=None):
    return AttributeCompare(field=field, op=op, value=value)


def check(condition) -> bool:
    return evaluate(condition, CONTACT, NOW)


def test_has_tag():
    assert check(HasTag(tag="vip")) is True
    assert check(HasTag(tag="churned")) is False


@pytest.mark.parametrize(
    "op, value, true_field, false_field",
    [
        ("eq", "pro", "plan", "city"),
        ("ne", "pro", "city", "plan"),
        ("gt", 30, "age", "score"),
        ("gte", 34, "age", "score"),
        ("lt", 10, "score", "age"),
        ("lte", 7.5, "score", "age"),
        ("contains", "ERL", "city", "plan"),  # case-insensitive substring
        ("starts_with", "an", "first_name", "city"),  # case-insensitive prefix
        ("in", ["pro", "team"], "plan", "city"),
    ],
)
def test_operator_true_and_false(op, value, true_field, false_field):
    assert check(attr(true_field, op, value)) is True
    assert check(attr(false_field, op, value)) is False


def test_ordering_boundaries():
    assert check(attr("age", "gt", 34)) is False
    assert check(attr("age", "gte", 34)) is True
    assert check(attr("age", "lt", 34)) is False
    assert check(attr("age", "lte", 34)) is True


def test_is_set_and_is_not_set():
    assert check(attr("plan", "is_set")) is True
    assert check(attr("plan", "is_not_set")) is False
    for unset in ("missing", "blank", "empty_list"):
        assert check(attr(unset, "is_set")) is False, unset
        assert check(attr(unset, "is_not_set")) is True, unset


def test_contact_columns_are_readable_as_fields():
    assert check(attr("email", "is_set")) is True
    assert check(attr("phone", "is_set")) is False
    assert check(attr("contact_id", "eq", "c1")) is True


@pytest.mark.parametrize(
    "op, value, expected",
    [
        ("eq", "x", False),
        ("ne", "x", True),
        ("gt", 1, False),
        ("gte", 1, False),
        ("lt", 1, False),
        ("lte", 1, False),
        ("contains", "x", False),
        ("starts_with", "x", False),
        ("in", ["x"], False),
        ("in", [None], False),
        ("is_set", None, False),
        ("is_not_set", None, True),
    ],
)
def test_unset_attribute_matches_only_negative_operators(op, value, expected):
    assert check(attr("missing", op, value)) is expected


@pytest.mark.parametrize("op", ["gt", "gte", "lt", "lte"])
def test_ordering_a_number_against_text_that_is_no_number_does_not_match(op):
    assert check(attr("age", op, "thirty")) is False  # number attribute, text value
    assert check(attr("city", op, 5)) is False  # text attribute, number value


@pytest.mark.parametrize(
    "field, op, value, expected",
    [
        ("code", "gt", 5, True),
        ("code", "lt", 5, False),
        ("code", "gte", 10, True),
        ("code", "gt", "9", True),  # two texts spelling numbers: 10 > 9, not "10" < "9"
        ("age", "lt", "100", True),
        ("age", "gt", " 33.5 ", True),
        ("plan", "gt", "a", True),  # texts that are no numbers still order as text
    ],
)
def test_ordering_compares_numbers_written_as_text_as_numbers(field, op, value, expected):
    assert check(attr(field, op, value)) is expected


def test_an_uncomparable_ordering_is_named_without_the_contacts_value():
    condition = AllOf(
        conditions=[
            attr("city", "gt", 5),
            attr("code", "gt", 5),
            attr("missing", "gt", 5),
            attr("plan", "eq", 5),
        ]
    )
    assert uncomparable_attributes(condition, CONTACT) == [
        "city gt 5: one side is a number, the other text that is not one"
    ]


def test_eq_does_not_coerce_between_text_and_number():
    assert check(attr("code", "eq", 10)) is False
    assert check(attr("code", "eq", "10")) is True


def test_in_with_no_list_matches_nothing():
    assert check(attr("plan", "in", None)) is False


def test_empty_groups():
    assert check(AllOf(conditions=[])) is True
    assert check(AnyOf(conditions=[])) is False


def test_nested_three_deep_and_more():
    # all( vip, any( not(plan == free), all( age > 40, has churned ) ), not( not( city ~ ber ) ) )
    tree = AllOf(
        conditions=[
            HasTag(tag="vip"),
            AnyOf(
                conditions=[
                    Not(condition=attr("plan", "eq", "free")),
                    AllOf(conditions=[attr("age", "gt", 40), HasTag(tag="churned")]),
                ]
            ),
            Not(condition=Not(condition=attr("city", "contains", "ber"))),
        ]
    )
    assert check(tree) is True

    flipped = AllOf(
        conditions=[
            HasTag(tag="vip"),
            AnyOf(
                conditions=[
                    Not(condition=attr("plan", "eq", "pro")),  # False
                    AllOf(
                        conditions=[
                            attr("age", "gt", 30),  # True
                            Not(condition=HasTag(tag="newsletter")),
                        ]
                    ),  # False
                ]
            ),
        ]
    )
    assert check(flipped) is False
    assert check(Not(condition=flipped)) is True


def test_tree_parses_from_a_document_and_evaluates():
    document = {
        "kind": "any",
        "conditions": [
            {
                "kind": "all",
                "conditions": [
                    {"kind": "not", "condition": {"kind": "has_tag", "tag": "vip"}},
                    {"kind": "attribute", "field": "age", "op": "gte", "value": 18},
                ],
            },
            {
                "kind": "all",
                "conditions": [
                    {"kind": "has_tag", "tag": "newsletter"},
                    {
                        "kind": "not",
                        "condition": {
                            "kind": "any",
                            "conditions": [
                                {
                                    "kind": "attribute",
                                    "field": "plan",
                                    "op": "in",
                                    "value": ["free", "trial"],
                                },
                            ],
                        },
                    },
                ],
            },
        ],
    }
    tree = TypeAdapter(Condition).validate_python(document)
    assert isinstance(tree, AnyOf)
    assert check(tree) is True
    assert len(list(walk(tree))) == 10


def test_result_depends_on_the_snapshot():
    tree = AllOf(conditions=[HasTag(tag="vip"), attr("age", "gte", 18)])
    minor = CONTACT.model_copy(update={"attributes": {"age": 12}})
    untagged = CONTACT.model_copy(update={"tags": frozenset()})
    assert evaluate(tree, CONTACT, NOW) is True
    assert evaluate(tree, minor, NOW) is False
    assert evaluate(tree, untagged, NOW) is False


def test_clock_conditions_in_the_contacts_zone_need_its_zone_data():
    from domain.conditions import fact_groups, is_data_free
    from domain.predicates import CurrentTime

    utc_hours = CurrentTime(after="09:00", before="17:00")
    own_hours = CurrentTime(after="09:00", before="17:00", timezone="contact")
    assert is_data_free(utc_hours) and fact_groups(utc_hours) == set()
    assert not is_data_free(own_hours)
    assert fact_groups(AllOf(conditions=[own_hours])) == {"contact", "attributes"}
    # 03:00 UTC is noon in Tokyo, evening before in Honolulu.
    at = datetime(2024, 6, 3, 3, tzinfo=UTC)
    in_tokyo = ContactSnapshot(contact_id="t", zone="Asia/Tokyo")
    assert evaluate(own_hours, in_tokyo, at) is True
    assert (
        evaluate(own_hours, ContactSnapshot(contact_id="h", zone="Pacific/Honolulu"), at) is False
    )
    assert evaluate(utc_hours, in_tokyo, at) is False


def test_a_loader_resolves_the_zone_as_journeys_timing_does():
    from domain.scheduling.zones import Zones, with_zone

    by_attribute = ContactSnapshot(contact_id="a", attributes={"tz": "Asia/Tokyo"})
    by_phone = ContactSnapshot(contact_id="b", phone="+74951234567")  # Moscow
    neither = ContactSnapshot(contact_id="c")
    zones = Zones("Europe/Berlin")
    assert with_zone(by_attribute, zones).zone == "Asia/Tokyo"
    assert with_zone(by_phone, zones).zone == "Europe/Moscow"
    assert with_zone(neither, zones).zone == "Europe/Berlin"
    assert with_zone(neither, zones, flow_zone="America/Denver").zone == "America/Denver"
