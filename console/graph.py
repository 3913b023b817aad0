"""A flow's steps laid out for an SVG drawing, on the server: one box per step, one
arrow per way control can go (the `next` or fall-through, a branch's then/otherwise, a
split's paths, a wait's on_event/on_timeout, where a failed `run_if` leads).

Layered top to bottom by the longest path from the first step, leaving out the arrows
that close a loop (found depth first), so every step sits below the steps that lead to
it; an arrow that goes back up is drawn in a lane beside the boxes, never through them. Pure:
the same flow always gives the same picture."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.flow import Flow
from domain.steps import Step
from domain.steps.flow_control import Exit, Goal, MultiBranch, RandomSplit

BOX_W, BOX_H = 210, 84
GAP_X, GAP_Y = 40, 56
MARGIN = 30
# Arrows that go back up run in lanes right of the boxes, this far apart, with room
# for their labels beyond the last.
LANE_GAP, LABEL_ROOM = 14, 70


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str | None


@dataclass
class Box:
    step_id: str
    kind: str
    title: str
    layer: int
    x: int = 0
    y: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def cx(self) -> int:
        return self.x + BOX_W // 2


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    label: str | None
    path: str  # SVG path data
    label_x: int
    label_y: int
    backwards: bool


@dataclass(frozen=True)
class Drawing:
    width: int
    height: int
    boxes: list[Box]
    arrows: list[Arrow]


def edges(flow: Flow, step: Step) -> list[Edge]:
    """Where control can go from `step`, each with what makes it go there. The targets
    are those of Flow.successors (a test holds the two together)."""
    ends = isinstance(step, Exit) or (isinstance(step, Goal) and step.exit_on_reach)
    after = None if ends else flow.following(step)
    own = {f: t for f, t in step.references().items() if f not in ("next", "false_next")}
    found: list[tuple[str | None, str | None]] = (
        [(_label(step, f), t or after) for f, t in own.items()] if own else [(None, after)]
    )
    if step.run_if is not None and step.on_false == "branch":
        found.append(("if not", step.false_next or flow.following(step)))
    elif step.run_if is not None and step.on_false == "skip":
        found.append(("skipped", flow.following(step)))
    merged: dict[str, list[str]] = {}
    for label, target in found:
        if target is not None:
            labels = merged.setdefault(target, [])
            if label and label not in labels:
                labels.append(label)
    return [Edge(step.id, target, " / ".join(labels) or None) for target, labels in merged.items()]


def _label(step: Step, reference: str) -> str:
    if reference.startswith("paths."):
        index = int(reference.split(".")[1])
        if isinstance(step, RandomSplit):
            path = step.paths[index]
            return f"{path.name or f'path {index + 1}'} {path.percent:g}%"
        if isinstance(step, MultiBranch):
            return step.paths[index].name or f"path {index + 1}"
    return reference.replace("_", " ")


def layout(flow: Flow, counts: dict[str, dict[str, int]] | None = None) -> Drawing:
    counts = counts or {}
    all_edges = [e for step in flow.steps for e in edges(flow, step)]
    layers = _layers(flow, all_edges)
    boxes = {
        step.id: Box(
            step.id,
            step.kind,
            step.name or step.id,
            layers[step.id],
            counts=counts.get(step.id, {}),
        )
        for step in flow.steps
    }
    rows: dict[int, list[Box]] = {}
    for step in flow.steps:  # document order within a layer
        rows.setdefault(boxes[step.id].layer, []).append(boxes[step.id])
    widest = max(len(row) for row in rows.values())
    inner = widest * BOX_W + (widest - 1) * GAP_X
    for layer, row in rows.items():
        span = len(row) * BOX_W + (len(row) - 1) * GAP_X
        left = MARGIN + (inner - span) // 2
        for i, box in enumerate(row):
            box.x, box.y = left + i * (BOX_W + GAP_X), MARGIN + layer * (BOX_H + GAP_Y)
    arrows, lanes = [], 0
    for e in all_edges:
        source, target = boxes[e.source], boxes[e.target]
        lane = MARGIN + inner + LANE_GAP * (lanes + 1)
        lanes += not _direct(source, target)
        arrows.append(_arrow(source, target, e.label, lane))
    height = MARGIN * 2 + len(rows) * BOX_H + (len(rows) - 1) * GAP_Y
    return Drawing(
        width=MARGIN * 2 + inner + LANE_GAP * lanes + LABEL_ROOM,
        height=height,
        boxes=[boxes[s.id] for s in flow.steps],
        arrows=arrows,
    )


def _layers(flow: Flow, all_edges: list[Edge]) -> dict[str, int]:
    """Longest path from the first step over the arrows that do not close a loop, so a
    step always sits below every step that leads to it (loops excepted)."""
    out: dict[str, list[str]] = {}
    for e in all_edges:
        out.setdefault(e.source, []).append(e.target)
    # Depth first from the first step, then from steps nothing reached (goals, which
    # contacts jump to): an arrow to a step still on the path closes a loop.
    order: list[str] = []  # finishing order; reversed, a topological order of the rest
    loops: set[tuple[str, str]] = set()
    state: dict[str, str] = {}
    for root in (s.id for s in flow.steps):
        if root in state:
            continue
        stack = [(root, iter(out.get(root, [])))]
        state[root] = "open"
        while stack:
            current, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                stack.pop()
                state[current] = "done"
                order.append(current)
            elif state.get(target) == "open":
                loops.add((current, target))
            elif target not in state:
                state[target] = "open"
                stack.append((target, iter(out.get(target, []))))
        if root == flow.steps[0].id:
            reached = set(order)
    layer = dict.fromkeys(order, 0)
    for current in reversed(order):
        for target in out.get(current, []):
            if (current, target) not in loops and layer[target] <= layer[current]:
                layer[target] = layer[current] + 1
    # What the first step never leads to (goals) goes below the rest.
    below = 1 + max(layer[step_id] for step_id in reached)
    return {step_id: n if step_id in reached else n + below for step_id, n in layer.items()}


def _direct(source: Box, target: Box) -> bool:
    """Only an arrow to the next row goes straight: one that skips rows would cross the
    boxes in between."""
    return target.layer == source.layer + 1


def _arrow(source: Box, target: Box, label: str | None, lane: int) -> Arrow:
    if _direct(source, target):
        x1, y1 = source.cx, source.y + BOX_H
        x2, y2 = target.cx, target.y
        mid = (y1 + y2) // 2
        path = f"M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2}"
        return Arrow(
            source.step_id,
            target.step_id,
            label,
            path,
            (x1 + x2) // 2 + 6,
            mid - 4,
            backwards=False,
        )
    # Back up (a loop) or down past other rows: into the gap under the source's row, out
    # to a lane right of every box, along it to the gap over the target's row, then into
    # its top. The gaps between rows hold no boxes, so the arrow crosses none.
    below, above = source.y + BOX_H + GAP_Y // 3, target.y - GAP_Y // 3
    x1, x2 = source.cx + 12, target.cx + 12
    path = f"M{x1},{source.y + BOX_H} V{below} H{lane} V{above} H{x2} V{target.y}"
    return Arrow(
        source.step_id,
        target.step_id,
        label,
        path,
        lane + 4,
        (below + above) // 2,
        backwards=target.layer <= source.layer,
    )
