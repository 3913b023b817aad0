"""Diffing two versions of a flow: steps matched by id, field-level paths."""

from datetime import UTC, datetime

from domain.flow import Flow
from domain.flow_diff import FlowChange, diff_flows


def flow(steps=None, **extra) -> Flow:
    return Flow.model_validate(
        {
            "id": "welcome",
            "name": "Welcome",
            "trigger": {"event": "form.submitted"},
            "steps": steps
            or [
                {"id": "welcome-email", "kind": "send_email", "subject": "Hi", "body": "Welcome"},
                {"id": "pause", "kind": "wait", "delay": "2d"},
                {"id": "done", "kind": "exit"},
            ],
            **extra,
        }
    )


def steps(*extra_or_changed, drop=()) -> list[dict]:
    base = {
        "welcome-email": {
            "id": "welcome-email",
            "kind": "send_email",
            "subject": "Hi",
            "body": "Welcome",
        },
        "pause": {"id": "pause", "kind": "wait", "delay": "2d"},
        "done": {"id": "done", "kind": "exit"},
    }
    for step in extra_or_changed:
        base[step["id"]] = step
    return [s for key, s in base.items() if key not in drop]


def paths(changes: list[FlowChange]) -> list[str]:
    return [c.path for c in changes]


def test_identical_flows_have_no_changes():
    assert diff_flows(flow(), flow()) == []


def test_version_and_publish_time_are_ignored():
    published = flow().model_copy(update={"version": 3, "published_at": datetime.now(UTC)})
    assert diff_flows(flow(), published) == []


def test_a_changed_step_field_is_named_by_step_id_and_field():
    changed = flow(
        steps({"id": "welcome-email", "kind": "send_email", "subject": "Hello!", "body": "Welcome"})
    )
    assert diff_flows(flow(), changed) == [
        FlowChange("steps[welcome-email].subject", "Hi", "Hello!")
    ]


def test_values_are_shown_as_written_in_documents():
    changed = flow(steps({"id": "pause", "kind": "wait", "delay": "3d"}))
    [change] = diff_flows(flow(), changed)
    assert (change.path, change.old, change.new) == ("steps[pause].delay", "2d", "3d")


def test_steps_are_matched_by_id_so_an_insert_is_one_addition():
    inserted = [{"id": "tag", "kind": "add_tag", "tag": "new"}] + steps()
    changes = diff_flows(flow(), flow(inserted))
    assert paths(changes) == ["steps[+tag]"]
    assert changes[0].kind == "added"
    assert (changes[0].old, changes[0].new["tag"]) == (None, "new")


def test_a_removed_step_is_reported_with_its_old_settings():
    changes = diff_flows(flow(), flow(steps(drop=("pause",))))
    assert paths(changes) == ["steps[-pause]"]
    assert changes[0].kind == "removed"
    assert (changes[0].old["delay"], changes[0].new) == ("2d", None)


def test_reordering_steps_is_a_change_because_order_decides_fall_through():
    reordered = list(reversed(steps()))
    changes = diff_flows(flow(), flow(reordered))
    assert changes == [
        FlowChange(
            "steps.order", ["welcome-email", "pause", "done"], ["done", "pause", "welcome-email"]
        )
    ]


def test_a_step_that_changes_kind_is_reported_whole():
    changes = diff_flows(flow(), flow(steps({"id": "pause", "kind": "add_tag", "tag": "x"})))
    assert paths(changes) == ["steps[pause]"]
    assert (changes[0].old["kind"], changes[0].new["kind"]) == ("wait", "add_tag")


def test_trigger_condition_is_reported_as_one_rule():
    old = flow(
        trigger={
            "event": "form.submitted",
            "condition": {"kind": "attribute", "field": "email", "op": "is_set"},
        }
    )
    new = flow(trigger={"event": "form.submitted", "condition": {"kind": "has_tag", "tag": "vip"}})
    [change] = diff_flows(old, new)
    assert change.path == "trigger.condition"
    assert change.old["kind"] == "attribute" and change.new == {"kind": "has_tag", "tag": "vip"}


def test_adding_a_trigger_condition_and_changing_nested_settings():
    new = flow(
        trigger={"event": "purchase.completed", "condition": {"kind": "has_tag", "tag": "vip"}},
        enrollment={"allow_manual": False},
        name="Welcome v2",
    )
    changes = diff_flows(flow(), new)
    assert [(c.path, c.old, c.new) for c in changes] == [
        ("name", "Welcome", "Welcome v2"),
        ("trigger.event", "form.submitted", "purchase.completed"),
        ("trigger.condition", None, {"kind": "has_tag", "tag": "vip"}),
        ("enrollment.allow_manual", True, False),
    ]
    assert {c.kind for c in changes} == {"changed"}


def test_several_kinds_of_change_at_once_come_in_a_stable_order():
    new_steps = [
        {"id": "welcome-email", "kind": "send_email", "subject": "Hi", "body": "Welcome!"},
        {"id": "tag", "kind": "add_tag", "tag": "new"},
        {"id": "done", "kind": "exit"},
    ]
    assert paths(diff_flows(flow(), flow(new_steps))) == [
        "steps[welcome-email].body",
        "steps[+tag]",
        "steps[-pause]",
    ]
