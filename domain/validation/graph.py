"""Structural rules: ids, references that point nowhere, unreachable steps, and loops
that contain no wait (which would spin a journey, and its providers, forever)."""

from domain.flow import Flow
from domain.steps import Step
from domain.steps.flow_control import Goal, Wait, WaitForEvent
from domain.validation.problems import Problem


def check_graph(flow: Flow) -> list[Problem]:
    return _ids_and_references(flow) + _reachability(flow) + _waitless_cycles(flow)


def _ids_and_references(flow: Flow) -> list[Problem]:
    problems, seen = [], set()
    for step in flow.steps:
        if step.id in seen:
            problems.append(
                Problem(
                    step_id=step.id,
                    field="id",
                    code="duplicate_id",
                    message=f"step id {step.id!r} is used more than once",
                )
            )
        seen.add(step.id)
    for step in flow.steps:
        for field, target in step.references().items():
            if target is not None and target not in seen:
                problems.append(
                    Problem(
                        step_id=step.id,
                        field=field,
                        code="unknown_step",
                        message=f"points to step {target!r}, which does not exist",
                    )
                )
    return problems


def _reachability(flow: Flow) -> list[Problem]:
    known = {s.id for s in flow.steps}
    # Goals are entered whenever their condition becomes true, not by control flow.
    stack = [flow.steps[0].id] + [s.id for s in flow.steps if isinstance(s, Goal)]
    reached: set[str] = set()
    while stack:
        current = stack.pop()
        if current in reached or current not in known:
            continue
        reached.add(current)
        stack.extend(flow.successors(flow.step(current)))
    return [
        Problem(
            step_id=s.id,
            field="id",
            code="unreachable",
            message="no path from the first step leads here",
        )
        for s in flow.steps
        if s.id not in reached
    ]


def _pauses(step: Step) -> bool:
    """Only waits that certainly take time break a loop: a wait that its condition can
    skip, or a date that can already have passed, would let the loop spin."""
    if (
        step.when is not None
        and step.when.delay is not None
        and step.when.delay.total_seconds() > 0
    ):
        return True  # "when to run" sleeps before the step's own condition is checked
    guarded = step.run_if is not None or (
        step.audience is not None and step.audience.who == "matching"
    )
    if guarded:
        return False
    if isinstance(step, Wait):
        return (
            step.delay is not None
            and step.delay.total_seconds() > 0
            or step.time_of_day is not None
        )
    return (
        isinstance(step, WaitForEvent)
        and step.timeout is not None
        and step.timeout.total_seconds() > 0
    )


def _waitless_cycles(flow: Flow) -> list[Problem]:
    known = {s.id for s in flow.steps}
    graph = {
        s.id: [t for t in flow.successors(s) if t in known] for s in flow.steps if not _pauses(s)
    }
    problems, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in graph.get(node, []):
            if state.get(target) == "open":
                cycle = path[path.index(target) :] + [target]
                problems.append(
                    Problem(
                        step_id=target,
                        field="next",
                        code="cycle_without_wait",
                        message="loop without a wait: " + " -> ".join(cycle),
                    )
                )
            elif target in graph and target not in state:
                visit(target, path + [target])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])
    return problems
