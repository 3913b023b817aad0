"""Trigger filters on the triggering event's own payload (`where` + `match`)."""

import pytest

from domain.flow import Trigger
from domain.validation import parse_flow

FORM = {"form_id": "newsletter", "page": "/signup", "fields": {"plan": "pro", "seats": 12}}


@pytest.mark.parametrize(
    ("trigger", "matches"),
    [
        ({"event": "form.submitted"}, True),
        ({"event": "form.submitted", "where": [{"path": "form_id", "value": "newsletter"}]}, True),
        ({"event": "form.submitted", "where": [{"path": "form_id", "value": "contact-us"}]}, False),
        (
            {
                "event": "form.submitted",
                "where": [
                    {"path": "fields.seats", "op": "gte", "value": 10},
                    {"path": "fields.plan", "op": "in", "value": ["pro", "team"]},
                ],
            },
            True,
        ),
        (
            {
                "event": "form.submitted",
                "where": [
                    {"path": "fields.seats", "op": "gte", "value": 50},
                    {"path": "fields.plan", "value": "pro"},
                ],
            },
            False,
        ),
        (
            {
                "event": "form.submitted",
                "match": "any",
                "where": [
                    {"path": "fields.seats", "op": "gte", "value": 50},
                    {"path": "fields.plan", "value": "pro"},
                ],
            },
            True,
        ),
        (
            {"event": "form.submitted", "where": [{"path": "fields.coupon", "op": "is_not_set"}]},
            True,
        ),
        ({"event": "page.visited", "where": [{"path": "form_id", "value": "newsletter"}]}, False),
    ],
)
def test_where_filters_select_events(trigger, matches):
    assert Trigger.model_validate(trigger).matches_event("form.submitted", FORM) is matches


def test_where_filters_need_a_path_and_a_value():
    _, problems = parse_flow(
        {
            "id": "f",
            "trigger": {
                "event": "form.submitted",
                "where": [{"path": "", "op": "is_set"}, {"path": "form_id", "op": "eq"}],
            },
            "steps": [{"id": "s", "kind": "exit"}],
        }
    )
    assert [(p.field, p.code) for p in problems] == [
        ("trigger.where.0.path", "missing_setting"),
        ("trigger.where.1.value", "missing_setting"),
    ]
