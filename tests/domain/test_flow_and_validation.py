"""Flow documents (step union, durations, control flow) and publish-time validation."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli.flow_files import load_flow_file
from domain.conditions import AttributeCompare, HasTag
from domain.flow import Flow, ReEntry
from domain.steps.contact_changes import AddTag, RemoveTag
from domain.steps.flow_control import Branch, Exit, Wait
from domain.steps.messaging import SendEmail, SendSms
from domain.validation import parse_flow, validate_flow

SAMPLE = Path(__file__).resolve().parents[2] / "cli" / "samples" / "welcome.yaml"


def doc(*steps, **extra):
    return {"id": "drip", "trigger": {"event": "form.submitted"}, "steps": list(steps), **extra}


def flow(*steps, **extra) -> Flow:
    return Flow.model_validate(doc(*steps, **extra))


def problems(*steps, **extra):
    parsed, found = parse_flow(doc(*steps, **extra))
    return [(p.step_id, p.field, p.code) for p in found]


EMAIL = {"id": "hello", "kind": "send_email", "subject": "Hi", "body": "Welcome"}
EXIT = {"id": "done", "kind": "exit"}


def test_every_step_kind_parses_from_a_plain_document():
    parsed = flow(
        {
            "id": "e",
            "kind": "send_email",
            "subject": "Hi {{ first_name }}",
            "body": "B",
            "from_email": "team@example.com",
        },
        {"id": "s", "kind": "send_sms", "text": "Hey", "if_no_phone": "exit"},
        {"id": "t", "kind": "add_tag", "tag": "onboarding"},
        {"id": "u", "kind": "remove_tag", "tag": "lead"},
        {"id": "w", "kind": "wait", "delay": "2d"},
        {"id": "w2", "kind": "wait", "until": "2030-01-01T09:00:00Z"},
        {
            "id": "b",
            "kind": "branch",
            "condition": {"kind": "has_tag", "tag": "vip"},
            "then": "x",
            "otherwise": "x",
        },
        {"id": "x", "kind": "exit", "reason": "done"},
        re_entry="after_exit",
    )
    kinds = [type(s) for s in parsed.steps]
    assert kinds == [SendEmail, SendSms, AddTag, RemoveTag, Wait, Wait, Branch, Exit]
    assert parsed.step("e").from_email == "team@example.com"
    assert parsed.step("s").if_no_phone == "exit"
    assert parsed.step("t").tag == "onboarding" and parsed.step("u").tag == "lead"
    assert parsed.step("w").delay == timedelta(days=2)
    assert parsed.step("w2").until == datetime(2030, 1, 1, 9, tzinfo=UTC)
    assert isinstance(parsed.step("b").condition, HasTag)
    assert parsed.step("x").reason == "done"
    assert parsed.re_entry is ReEntry.AFTER_EXIT
    assert validate_flow(parsed) == []


def test_trigger_condition_parses_into_the_condition_union():
    parsed = flow(
        EXIT,
        trigger={
            "event": "form.submitted",
            "condition": {"kind": "attribute", "field": "email", "op": "is_set"},
        },
    )
    assert isinstance(parsed.trigger.condition, AttributeCompare)


@pytest.mark.parametrize(
    "text, expected, compact",
    [
        ("2d", timedelta(days=2), "2d"),
        ("1h30m", timedelta(hours=1, minutes=30), "1h30m"),
        ("P2D", timedelta(days=2), "2d"),
        ("PT90M", timedelta(minutes=90), "1h30m"),
        ("1w2d", timedelta(days=9), "1w2d"),
        ("90s", timedelta(seconds=90), "1m30s"),
    ],
)
def test_durations_parse_and_serialise_compactly(text, expected, compact):
    parsed = flow({"id": "w", "kind": "wait", "delay": text})
    assert parsed.step("w").delay == expected
    dumped = parsed.model_dump(mode="json")
    assert dumped["steps"][0]["delay"] == compact
    assert Flow.model_validate(dumped) == parsed  # round-trips


def test_following_and_successors():
    parsed = flow(
        {"id": "a", "kind": "add_tag", "tag": "t"},
        {"id": "b", "kind": "branch", "condition": {"kind": "has_tag", "tag": "t"}, "then": "d"},
        {"id": "c", "kind": "add_tag", "tag": "u", "next": "e"},
        {"id": "d", "kind": "exit"},
        {"id": "e", "kind": "send_sms", "text": "x"},
    )
    step = parsed.step
    assert parsed.following(step("a")) == "b"
    assert parsed.following(step("c")) == "e"  # explicit next wins
    assert parsed.following(step("e")) is None  # last step falls off the end
    assert parsed.successors(step("a")) == ["b"]
    assert parsed.successors(step("b")) == ["d", "c"]  # then, otherwise = fall through
    assert parsed.successors(step("d")) == []  # exit ends the journey
    assert parsed.successors(step("e")) == []
    with pytest.raises(KeyError):
        step("nope")


def test_branch_with_same_target_lists_it_once():
    parsed = flow(
        {
            "id": "b",
            "kind": "branch",
            "condition": {"kind": "has_tag", "tag": "t"},
            "then": "x",
            "otherwise": "x",
        },
        {"id": "x", "kind": "exit"},
    )
    assert parsed.successors(parsed.step("b")) == ["x"]


def test_valid_flow_has_no_problems():
    assert problems(EMAIL, EXIT) == []


def test_missing_email_subject():
    assert problems({**EMAIL, "subject": "  "}) == [("hello", "subject", "missing_setting")]


def test_missing_sms_text_and_tag_names():
    assert problems({"id": "s", "kind": "send_sms"}, {"id": "t", "kind": "add_tag"}) == [
        ("s", "text", "missing_setting"),
        ("t", "tag", "missing_setting"),
    ]


def test_unknown_next_reference():
    assert problems({**EMAIL, "next": "ghost"}, EXIT) == [
        ("hello", "next", "unknown_step"),
        ("done", "id", "unreachable"),
    ]


def test_unknown_branch_then_reference():
    found = problems(
        {
            "id": "b",
            "kind": "branch",
            "condition": {"kind": "has_tag", "tag": "x"},
            "then": "ghost",
        },
        EXIT,
    )
    assert found == [("b", "then", "unknown_step")]


def test_unreachable_step():
    found = problems(
        {**EMAIL, "next": "done"}, {"id": "orphan", "kind": "add_tag", "tag": "t"}, EXIT
    )
    assert found == [("orphan", "id", "unreachable")]


def test_step_after_exit_is_unreachable():
    assert problems(EXIT, EMAIL) == [("hello", "id", "unreachable")]


def test_cycle_without_wait_is_refused():
    found = problems(
        {"id": "a", "kind": "add_tag", "tag": "t"},
        {"id": "b", "kind": "remove_tag", "tag": "t", "next": "a"},
    )
    assert found == [("a", "next", "cycle_without_wait")]


def test_self_loop_is_refused():
    assert problems({**EMAIL, "next": "hello"}) == [("hello", "next", "cycle_without_wait")]


def test_cycle_containing_a_wait_is_accepted():
    assert (
        problems(
            EMAIL,
            {"id": "pause", "kind": "wait", "delay": "1d"},
            {
                "id": "check",
                "kind": "branch",
                "condition": {"kind": "has_tag", "tag": "done"},
                "then": "done",
                "otherwise": "hello",
            },
            EXIT,
        )
        == []
    )


@pytest.mark.parametrize("settings", [{}, {"delay": "1d", "until": "2030-01-01T00:00:00Z"}])
def test_wait_needs_exactly_one_of_delay_and_until(settings):
    assert problems({"id": "w", "kind": "wait", **settings}) == [("w", "delay", "wait_needs_one")]


def test_zero_delay_is_refused():
    assert problems({"id": "w", "kind": "wait", "delay": "0s"}) == [("w", "delay", "not_positive")]


def test_bad_merge_tag_syntax():
    assert problems({**EMAIL, "body": "Hi {{ first_name "}) == [("hello", "body", "bad_merge_tag")]
    assert problems({"id": "s", "kind": "send_sms", "text": "{% if %}"}) == [
        ("s", "text", "bad_merge_tag")
    ]


def test_unknown_trigger_event():
    assert problems(EXIT, trigger={"event": "contact.teleported"}) == [
        (None, "trigger.event", "unknown_event")
    ]


def test_incomplete_trigger_condition():
    found = problems(
        EXIT,
        trigger={
            "event": "form.submitted",
            "condition": {"kind": "attribute", "field": "age", "op": "gt"},
        },
    )
    assert found == [(None, "trigger.condition.value", "missing_setting")]


def test_branch_needs_a_condition():
    assert problems({"id": "b", "kind": "branch"}, EXIT) == [("b", "condition", "missing_setting")]


def test_duplicate_step_id():
    assert problems(EMAIL, {**EXIT, "id": "hello"}) == [("hello", "id", "duplicate_id")]


def test_all_problems_are_reported_together_as_errors():
    _, found = parse_flow(
        doc(
            {**EMAIL, "subject": "", "next": "ghost"},
            {"id": "w", "kind": "wait"},
            trigger={"event": "nope"},
        )
    )
    assert {p.code for p in found} == {
        "unknown_event",
        "unknown_step",
        "missing_setting",
        "unreachable",
        "wait_needs_one",
    }
    assert all(p.severity == "error" for p in found)
    assert all(p.message for p in found)


def test_pydantic_error_for_bad_step_id_names_step_and_field():
    parsed, found = parse_flow(doc({**EMAIL, "id": "bad id"}))
    assert parsed is None
    assert [(p.step_id, p.field, p.code) for p in found] == [("bad id", "id", "invalid")]


def test_pydantic_error_for_unknown_setting_names_step_and_field():
    parsed, found = parse_flow(doc(EXIT, {"id": "w", "kind": "wait", "delay": "soon"}))
    assert parsed is None
    assert [(p.step_id, p.field, p.code) for p in found] == [("w", "delay", "invalid")]


def test_pydantic_error_for_unknown_step_kind_names_step_and_kind_field():
    parsed, found = parse_flow(doc(EXIT, {"id": "beam", "kind": "teleport"}))
    assert parsed is None
    assert len(found) == 1
    assert found[0].step_id == "beam"
    assert found[0].code == "invalid"
    assert "teleport" in found[0].message
    assert found[0].field == "kind"


def test_pydantic_error_for_flow_level_field():
    parsed, found = parse_flow(
        {"id": "Not Valid", "trigger": {"event": "form.submitted"}, "steps": [EXIT]}
    )
    assert parsed is None
    assert [(p.step_id, p.field) for p in found] == [(None, "id")]


def test_flow_needs_at_least_one_step():
    parsed, found = parse_flow(doc())
    assert parsed is None
    assert [(p.step_id, p.field) for p in found] == [(None, "steps")]


def test_shipped_sample_validates_cleanly():
    parsed, found = load_flow_file(SAMPLE)
    assert found == []
    assert parsed is not None and parsed.id == "welcome"
    assert parsed.step("wait-2-days").delay == timedelta(days=2)
    assert parsed.model_dump(mode="json")["steps"][4]["delay"] == "2d"


def test_a_trigger_cannot_test_the_clock_in_the_contacts_zone():
    from domain.flow import Flow
    from domain.validation import validate_flow

    flow = Flow.model_validate(
        {
            "id": "zoned",
            "trigger": {
                "event": "form.submitted",
                "condition": {
                    "kind": "current_time",
                    "after": "09:00",
                    "before": "17:00",
                    "timezone": "contact",
                },
            },
            "steps": [{"id": "tag", "kind": "add_tag", "tag": "t"}],
        }
    )
    [problem] = [p for p in validate_flow(flow) if p.code == "contact_zone_in_trigger"]
    assert (problem.field, problem.severity) == ("trigger.condition", "error")
