"""The flow graph's layout: arrows agree with the interpreter's idea of where control
goes, boxes never overlap, and arrows going back up stay out of the boxes."""

import pytest

from console.graph import BOX_H, BOX_W, edges, layout
from domain.flow import Flow

LOOPING = {
    "id": "welcome",
    "trigger": {"event": "form.submitted"},
    "steps": [
        {"id": "hello", "kind": "send_email", "subject": "Hi", "body": "Hi"},
        {"id": "wait", "kind": "wait", "delay": "2d"},
        {
            "id": "check",
            "kind": "branch",
            "condition": {"kind": "has_tag", "tag": "engaged"},
            "then": "done",
            "otherwise": "nudge",
        },
        {"id": "nudge", "kind": "send_sms", "text": "hey", "next": "wait"},
        {"id": "done", "kind": "exit"},
    ],
}

SPLIT = {
    "id": "ab",
    "trigger": {"event": "form.submitted"},
    "steps": [
        {
            "id": "split",
            "kind": "split",
            "paths": [
                {"name": "A", "percent": 50, "goto": "a"},
                {"name": "B", "percent": 50, "goto": "b"},
            ],
        },
        {"id": "a", "kind": "send_email", "subject": "A", "body": "A", "next": "reply"},
        {
            "id": "b",
            "kind": "send_email",
            "subject": "B",
            "body": "B",
            "run_if": {"kind": "has_tag", "tag": "vip"},
            "on_false": "branch",
            "false_next": "bye",
        },
        {
            "id": "reply",
            "kind": "wait_for_event",
            "event": "sms.replied",
            "timeout": "1d",
            "on_event": "bye",
        },
        {"id": "bought", "kind": "goal", "goal": {"kind": "has_tag", "tag": "buyer"}},
        {"id": "bye", "kind": "exit"},
    ],
}


@pytest.mark.parametrize("document", [LOOPING, SPLIT], ids=["looping", "split"])
def test_arrows_go_where_the_interpreter_goes(document):
    flow = Flow.model_validate(document)
    for step in flow.steps:
        assert sorted(e.target for e in edges(flow, step)) == sorted(flow.successors(step))


def test_arrows_say_what_sends_contacts_their_way():
    flow = Flow.model_validate(SPLIT)
    labels = {(e.source, e.target): e.label for s in flow.steps for e in edges(flow, s)}
    assert labels[("split", "a")] == "A 50%"
    assert labels[("b", "bye")] == "if not"
    assert labels[("reply", "bye")] == "on event"
    assert labels[("reply", "bought")] == "on timeout"  # falls through to the next step


@pytest.mark.parametrize("document", [LOOPING, SPLIT], ids=["looping", "split"])
def test_boxes_never_overlap_and_fit_the_drawing(document):
    drawing = layout(Flow.model_validate(document))
    boxes = drawing.boxes
    for i, a in enumerate(boxes):
        assert a.x >= 0 and a.x + BOX_W <= drawing.width and a.y + BOX_H <= drawing.height
        for b in boxes[i + 1 :]:
            apart = (
                a.x + BOX_W <= b.x or b.x + BOX_W <= a.x or a.y + BOX_H <= b.y or b.y + BOX_H <= a.y
            )
            assert apart, (a.step_id, b.step_id)


def test_a_loop_runs_beside_the_boxes_and_forward_arrows_go_down():
    drawing = layout(Flow.model_validate(LOOPING), {"hello": {"sent": 3}})
    by_id = {b.step_id: b for b in drawing.boxes}
    assert [b.layer for b in drawing.boxes] == [0, 1, 2, 3, 3]
    back = [a for a in drawing.arrows if a.backwards]
    assert [(a.source, a.target) for a in back] == [("nudge", "wait")]
    lane = int(back[0].path.split(" H")[1].split()[0])
    assert lane > max(b.x + BOX_W for b in drawing.boxes)
    for arrow in drawing.arrows:
        if not arrow.backwards:
            assert by_id[arrow.target].y > by_id[arrow.source].y
    assert by_id["hello"].counts == {"sent": 3}


def test_without_loops_every_arrow_points_down_and_goals_sit_below():
    drawing = layout(Flow.model_validate(SPLIT))
    by_id = {b.step_id: b for b in drawing.boxes}
    assert not [a for a in drawing.arrows if a.backwards]
    assert by_id["bye"].layer > by_id["reply"].layer > by_id["a"].layer > by_id["split"].layer
    # bought is reached only by the fall-through from reply's timeout.
    assert by_id["bought"].layer == by_id["reply"].layer + 1


@pytest.mark.parametrize("document", [LOOPING, SPLIT], ids=["looping", "split"])
def test_arrows_that_skip_rows_run_in_lanes_beside_the_boxes(document):
    drawing = layout(Flow.model_validate(document))
    by_id = {b.step_id: b for b in drawing.boxes}
    rightmost = max(b.x + BOX_W for b in drawing.boxes)
    skipping = [a for a in drawing.arrows if by_id[a.target].layer != by_id[a.source].layer + 1]
    assert skipping
    for arrow in skipping:
        lane = int(arrow.path.split(" H")[1].split()[0])
        assert rightmost < lane < drawing.width
