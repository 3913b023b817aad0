"""Every step kind: a realistic document parses cleanly, round-trips through JSON, appears
in the JSON schema, and a wrong type in one of its fields is reported by step and field."""

import pytest

from domain.flow import Flow
from domain.steps import STEP_KINDS
from domain.steps.messaging import Dial, Hangup, Pause, Record, Say
from domain.validation import errors, parse_flow

EXPECTED_KINDS = {
    # messaging
    "send_email",
    "send_sms",
    "phone_call",
    "notify_team",
    "webhook",
    # contact changes
    "add_tag",
    "remove_tag",
    "change_tags",
    "add_product",
    "remove_product",
    "add_purchase",
    "set_offer",
    "remove_offer",
    "add_subscription",
    "set_membership",
    "add_to_list",
    "remove_from_list",
    "update_contact",
    "make_note",
    "create_activity",
    "fulfillment",
    "cancel_open_orders",
    "recharge_transactions",
    "add_to_lead_router",
    "run_script",
    # flow control
    "wait",
    "wait_for_event",
    "branch",
    "multi_branch",
    "split",
    "goal",
    "start_flow",
    "stop_flow",
    "pause_flow",
    "exit",
    "experiment",
}

# Every example is the first step of a flow ending in these two, which it must reach.
TAIL = [
    {"id": "later", "kind": "add_tag", "tag": "engaged"},
    {"id": "done", "kind": "exit", "reason": "finished"},
]
VIP = {"kind": "has_tag", "tag": "vip"}
CUSTOMER = {"kind": "has_tag", "tag": "customer"}


def activity(kind: str, **extra) -> dict:
    return {
        "id": f"crm-{kind.replace('_', '-')}",
        "kind": "create_activity",
        "activity": kind,
        "title": f"{kind} for {{{{ first_name }}}}",
        "type": "onboarding",
        "assignee": "contact_owner",
        "status": "open",
        "priority": "high",
        "category": "sales",
        "message": "Contact {{ email }} signed up",
        **extra,
    }


EXAMPLES = [
    {
        "id": "welcome",
        "kind": "send_email",
        "name": "Welcome email",
        "when": {"delay": "1h"},
        "audience": {
            "who": "matching",
            "terms": {
                "kind": "all",
                "conditions": [
                    {"kind": "opened_email", "flow_id": "onboarding", "step_id": "intro"},
                    {"kind": "not", "condition": {"kind": "unsubscribed", "channel": "email"}},
                ],
            },
        },
        "template_id": "tpl-welcome",
        "subject": "Welcome, {{ first_name }}",
        "body": "Hi {{ contact.first_name }}, thanks for joining.",
        "from_email": "team@example.com",
        "connection": "smtp-main",
        "reply_to": "help@example.com",
        "next": "later",
        "attachments": [
            {
                "filename": "guide.pdf",
                "url": "https://files.example.com/guide.pdf",
                "size_bytes": 1_048_576,
                "content_type": "application/pdf",
            },
            {
                "filename": "terms.txt",
                "url": "https://files.example.com/terms.txt",
                "size_bytes": 2048,
            },
        ],
    },
    {
        "id": "reminder-sms",
        "kind": "send_sms",
        "when": {"at": "2030-03-01T09:00:00+01:00"},
        "run_if": {"kind": "not", "condition": {"kind": "unsubscribed", "channel": "sms"}},
        "on_false": "skip",
        "text": "Hi {{ first_name }}, your webinar starts soon",
        "sender": "Dripstone",
        "if_no_phone": "exit",
        "max_segments": 2,
    },
    {
        "id": "call",
        "kind": "phone_call",
        "audience": {"who": "everyone"},
        "from_number": "+15550100",
        "record": True,
        "script": [
            {
                "action": "say",
                "text": "Hello {{ first_name }}, connecting you now",
                "voice": "alice",
            },
            {"action": "pause", "seconds": 2},
            {"action": "dial", "number": "+15550199"},
            {"action": "record", "max_seconds": 300},
            {"action": "hangup"},
        ],
    },
    {
        "id": "tell-owner",
        "kind": "notify_team",
        "run_if": VIP,
        "on_false": "exit",
        "channel": "email",
        "to": "owner",
        "subject": "VIP {{ email }} signed up",
        "message": "Call {{ first_name }} today",
    },
    {
        "id": "crm-sync",
        "kind": "webhook",
        "method": "PUT",
        "url": "https://api.example.com/contacts/{{ contact_id }}?source=drip",
        "headers": {"Authorization": "Bearer s3cret", "X-Contact": "{{ email }}"},
        "body": '{"plan": "{{ plan }}"}',
        "timeout_seconds": 30,
    },
    {
        "id": "tag-onboarding",
        "kind": "add_tag",
        "tag": "onboarding",
        "run_if": VIP,
        "on_false": "branch",
        "false_next": "done",
    },
    {"id": "untag-lead", "kind": "remove_tag", "tag": "lead", "name": "No longer a lead"},
    {
        "id": "retag",
        "kind": "change_tags",
        "add": ["customer", "paid"],
        "remove": ["lead", "trial"],
    },
    {"id": "grant-ebook", "kind": "add_product", "product": "ebook"},
    {"id": "revoke-trial", "kind": "remove_product", "product": "trial-course"},
    {
        "id": "record-sale",
        "kind": "add_purchase",
        "product": "ebook",
        "quantity": 2,
        "amount": 49.5,
        "currency": "EUR",
    },
    {
        "id": "offer",
        "kind": "set_offer",
        "product": "pro-annual",
        "discount_percent": 20,
        "valid_for": "1w",
    },
    {"id": "offer-amount", "kind": "set_offer", "product": "pro-annual", "discount_amount": 15},
    {"id": "end-offer", "kind": "remove_offer", "product": "pro-annual"},
    {"id": "subscribe", "kind": "add_subscription", "plan": "pro-monthly"},
    {"id": "suspend", "kind": "set_membership", "site": "academy", "access": "suspended"},
    {"id": "list-in", "kind": "add_to_list", "list_type": "selection", "list_id": "sel-9"},
    {"id": "list-out", "kind": "remove_from_list", "list_type": "project", "list_id": "proj-3"},
    {
        "id": "update",
        "kind": "update_contact",
        "changes": [
            {"field": "lifecycle", "action": "set", "value": "customer"},
            {"field": "trial_ends", "action": "clear"},
            {"field": "score", "action": "increment", "by": 5},
            {"field": "renewal_date", "action": "shift_date", "by": "30d"},
        ],
    },
    {"id": "note", "kind": "make_note", "text": "Joined from {{ source }}"},
    activity("task", due_in="2d"),
    activity("follow_up", due_at="2030-01-15T10:00:00+00:00"),
    activity("request", assignee="auto"),
    activity("sale", amount=499.0, assignee="contact_owner"),
    {"id": "ship", "kind": "fulfillment", "action": "remove", "list_id": "print-books"},
    {"id": "cancel", "kind": "cancel_open_orders", "product": "ebook"},
    {"id": "recharge", "kind": "recharge_transactions", "when": {"delay": "1d"}},
    {"id": "route", "kind": "add_to_lead_router", "router": "emea-sales"},
    {
        "id": "script",
        "kind": "run_script",
        "script": "sync_crm",
        "arguments": {"plan": "pro", "retries": 3, "tags": ["a", "b"]},
    },
    {
        "id": "morning",
        "kind": "wait",
        "time_of_day": {"at": "09:30", "weekdays": ["mon", "wed", "fri"]},
    },
    {"id": "pause", "kind": "wait", "delay": "1d12h"},
    {"id": "until", "kind": "wait", "until": "2030-06-01T08:00:00Z"},
    {
        "id": "await-reply",
        "kind": "wait_for_event",
        "event": "sms.received",
        "matching": {"kind": "reply_contains", "keywords": ["yes"], "match": "any"},
        "timeout": "1d",
        "on_event": "later",
        "on_timeout": "done",
        "count_earlier_events": True,
    },
    {"id": "is-vip", "kind": "branch", "condition": VIP, "then": "later", "otherwise": "done"},
    {
        "id": "by-plan",
        "kind": "multi_branch",
        "otherwise": "done",
        "paths": [
            {
                "name": "pro",
                "condition": {"kind": "attribute", "field": "plan", "op": "eq", "value": "pro"},
                "goto": "later",
            },
            {"name": "vip", "condition": VIP, "goto": "done"},
        ],
    },
    {
        "id": "ab",
        "kind": "split",
        "paths": [
            {"name": "A", "percent": 50, "goto": "later"},
            {"name": "B", "percent": 50, "goto": "done"},
        ],
    },
    {"id": "bought", "kind": "goal", "goal": CUSTOMER, "exit_on_reach": False, "next": "later"},
    {"id": "nurture", "kind": "start_flow", "flow_id": "nurture", "wait_for_completion": True},
    {"id": "stop-trial", "kind": "stop_flow", "flow_id": "trial-reminders"},
    {"id": "resume", "kind": "pause_flow", "flow_id": "newsletter", "action": "unpause"},
    {
        "id": "stop",
        "kind": "exit",
        "reason": "already a customer",
        "run_if": CUSTOMER,
        "on_false": "branch",
        "false_next": "later",
    },
    {
        "id": "subject-test",
        "kind": "experiment",
        "variants": [
            {"name": "plain", "weight": 1, "subject": "Welcome", "body": "Hi {{ first_name }}"},
            {"name": "bold", "weight": 1, "subject": "WELCOME!", "body": "Hi"},
        ],
        "metric": {"kind": "opened", "window": "2d"},
        "winner": {"after": "sample_size", "sample_size": 500},
    },
]
IDS = [e["id"] for e in EXAMPLES]

# A wrong type in one field per kind: (step id, patch, field pydantic names).
BAD = {
    "send_email": (
        {"attachments": [{"filename": "a", "url": "u", "size_bytes": "big"}]},
        "attachments.0.size_bytes",
    ),
    "send_sms": ({"max_segments": 0}, "max_segments"),
    "phone_call": ({"record": "sometimes"}, "record"),
    "notify_team": ({"channel": "pigeon"}, "channel"),
    "webhook": ({"method": "FETCH"}, "method"),
    "add_tag": ({"tag": ["a", "b"]}, "tag"),
    "remove_tag": ({"tag": {"name": "lead"}}, "tag"),
    "change_tags": ({"add": "customer"}, "add"),
    "add_product": ({"product": 42}, "product"),
    "remove_product": ({"product": None}, "product"),
    "add_purchase": ({"quantity": "many"}, "quantity"),
    "set_offer": ({"discount_percent": 150}, "discount_percent"),
    "remove_offer": ({"product": ["pro"]}, "product"),
    "add_subscription": ({"plan": 3.5}, "plan"),
    "set_membership": ({"access": "sometimes"}, "access"),
    "add_to_list": ({"list_type": "spreadsheet"}, "list_type"),
    "remove_from_list": ({"list_type": "folder"}, "list_type"),
    "update_contact": ({"changes": [{"field": "score", "action": "multiply"}]}, "changes.0.action"),
    "make_note": ({"text": 12}, "text"),
    "create_activity": ({"activity": "meeting"}, "activity"),
    "fulfillment": ({"action": "ship"}, "action"),
    "cancel_open_orders": ({"product": 7}, "product"),
    "recharge_transactions": ({"on_false": "ignore"}, "on_false"),
    "add_to_lead_router": ({"router": False}, "router"),
    "run_script": ({"arguments": "a=1"}, "arguments"),
    "wait": ({"time_of_day": {"at": "09:30", "weekdays": ["funday"]}}, "time_of_day.weekdays.0"),
    "wait_for_event": ({"count_earlier_events": "sometimes"}, "count_earlier_events"),
    "branch": ({"then": "not an id!"}, "then"),
    "multi_branch": ({"paths": [{"condition": VIP, "goto": 5}]}, "paths.0.goto"),
    "split": ({"paths": [{"percent": 150}, {"percent": 50}]}, "paths.0.percent"),
    "goal": ({"exit_on_reach": "perhaps"}, "exit_on_reach"),
    "start_flow": ({"wait_for_completion": "maybe"}, "wait_for_completion"),
    "stop_flow": ({"flow_id": "Not A Flow"}, "flow_id"),
    "pause_flow": ({"action": "freeze"}, "action"),
    "exit": ({"reason": ["x"]}, "reason"),
    "experiment": ({"winner": {"after": "someday"}}, "winner.after"),
}


def document(*steps) -> dict:
    return {
        "id": "drip",
        "name": "Drip",
        "trigger": {"event": "form.submitted"},
        "steps": [*steps, *TAIL],
    }


def test_the_step_kinds_are_exactly_the_expected_ones():
    # Adding or removing a kind must come with an example and a bad example here.
    assert set(STEP_KINDS) == EXPECTED_KINDS
    assert {e["kind"] for e in EXAMPLES} == EXPECTED_KINDS
    assert set(BAD) == EXPECTED_KINDS


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_realistic_example_parses_without_errors(example):
    flow, problems = parse_flow(document(example))
    assert flow is not None, problems
    assert errors(problems) == [], [str(p) for p in problems]
    step = flow.step(example["id"])
    assert isinstance(step, STEP_KINDS[example["kind"]])
    assert step.kind == example["kind"]


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_example_round_trips_through_json(example):
    flow, _ = parse_flow(document(example))
    dumped = flow.model_dump(mode="json")
    assert Flow.model_validate(dumped) == flow
    again, problems = parse_flow(dumped)
    assert again == flow and errors(problems) == []


def test_json_schema_contains_every_kind():
    schema = Flow.model_json_schema()
    items = schema["properties"]["steps"]["items"]
    assert set(items["discriminator"]["mapping"]) == EXPECTED_KINDS
    for kind, ref in items["discriminator"]["mapping"].items():
        definition = schema["$defs"][ref.rsplit("/", 1)[-1]]
        assert definition["properties"]["kind"]["const"] == kind


@pytest.mark.parametrize("kind", sorted(EXPECTED_KINDS))
def test_wrong_type_in_one_field_names_the_step_and_field(kind):
    example = next(e for e in EXAMPLES if e["kind"] == kind)
    patch, field = BAD[kind]
    flow, problems = parse_flow(document({**example, **patch}))
    assert flow is None
    assert [(p.step_id, p.field, p.code) for p in problems] == [(example["id"], field, "invalid")]
    assert problems[0].message


def test_parsed_settings_have_their_python_types():
    flow, _ = parse_flow(document(*EXAMPLES[:3]))
    email, sms, call = flow.steps[:3]
    assert email.when.delay.total_seconds() == 3600
    assert email.audience.who == "matching" and email.audience.terms.kind == "all"
    assert sum(a.size_bytes for a in email.attachments) == 1_048_576 + 2048
    assert email.attachments[1].content_type == "application/octet-stream"
    assert sms.when.at.utcoffset().total_seconds() == 3600 and sms.on_false == "skip"
    assert [type(a) for a in call.script] == [Say, Pause, Dial, Record, Hangup]


def test_update_contact_changes_keep_numbers_and_durations_apart():
    flow, _ = parse_flow(document(next(e for e in EXAMPLES if e["id"] == "update")))
    by = [c.by for c in flow.steps[0].changes]
    assert by[:3] == [None, None, 5]
    assert by[3].days == 30
    assert flow.model_dump(mode="json")["steps"][0]["changes"][3]["by"] == "4w2d"


@pytest.mark.parametrize(
    "when", [{"delay": -60}, {"delay": "PT0.5S"}], ids=["negative", "subsecond"]
)
def test_an_accepted_when_delay_survives_a_round_trip(when):
    # BUG (domain/durations.py format_duration): an accepted delay must reload as itself.
    # -60s dumps as '-1w6d23h59m' (which no longer parses) and 0.5s as '0s'.
    flow, problems = parse_flow(document({"id": "a", "kind": "add_tag", "tag": "t", "when": when}))
    if flow is None or errors(problems):
        return  # refusing it up front is fine too
    again, problems = parse_flow(flow.model_dump(mode="json"))
    assert again == flow, [str(p) for p in problems]


@pytest.mark.parametrize(
    "step, field",
    [
        (
            {"id": "c", "kind": "phone_call", "script": [{"action": "pause", "seconds": 9999}]},
            "script.0.seconds",
        ),
        (
            {"id": "c", "kind": "add_tag", "tag": "x", "run_if": {"kind": "has_tag", "tag": 5}},
            "run_if.tag",
        ),
    ],
    ids=["call-action", "condition"],
)
def test_nested_discriminator_values_are_not_in_field_paths(step, field):
    # BUG (domain/validation/__init__.py _problem_from_pydantic): only the step kind is
    # dropped from the path; nested tags leak in ('script.0.pause.seconds',
    # 'run_if.has_tag.tag') while validation's own problems say 'script.0.text', 'run_if.tag'.
    flow, problems = parse_flow(document(step))
    assert flow is None
    assert [(p.step_id, p.field) for p in problems] == [("c", field)]
