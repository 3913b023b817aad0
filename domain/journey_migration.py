"""Moving a running journey to another version of its flow: the order a journey receives,
which step of the target each step goes to, and what becomes of the wait it is in.

Pure and deterministic: the journey applies `migrated_state` inside its workflow code,
and the dry run uses `resolve_steps` to say the same thing before anything moves.

The deadline rule (docs/journey-migration.md): a wait whose target step waits *the same
way* (same delay, date, time of day, event and timeout, same `when`, same send window)
keeps its deadline: the contact wakes when it would have. A target that waits
differently counts its own wait from when the contact's wait began (a delay or timeout
from `started_at`; a fixed date as written), so a 3-day wait changed to 5 days ends 2
days later, not 5 days after the migration. Waits that depend on the contact's local
time (time of day, `local_at`, the send window) are planned afresh on the target. A
target step that has no wait of that kind is started afresh (its own `when`,
conditions and action run). A deadline already past fires at once.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.flow import Flow
from domain.journey import TRAIL_LIMIT, JourneyState, StepVisit, WaitMark
from domain.steps import Step
from domain.steps.flow_control import Wait, WaitForEvent
from domain.steps.messaging import PhoneCall, SendEmail, SendSms

MIGRATE_SIGNAL = "migrate"
# Steps quiet hours hold (the journey's own WINDOWED_STEPS; repeated here to stay pure).
_WINDOWED = (SendEmail, SendSms, PhoneCall)


class MigrationOrder(BaseModel):
    """The `migrate` signal: the target version's snapshot (a journey never reads the
    catalogue) and where each step of the journey's own version goes."""

    migration_id: str
    flow: Flow = Field(description="The target version, as published.")
    from_version: int = Field(description="Only journeys of this version take the order.")
    steps: dict[str, str] = Field(
        description="Source step id -> target step id, for every "
        "source step that has a place in the target."
    )


def resolve_steps(source: Flow, target: Flow, mapping: dict[str, str]) -> dict[str, str]:
    """Steps matched by id, then `mapping` (OLD=NEW) on top; steps with neither are left
    out (they have no place in the target)."""
    target_ids = {step.id for step in target.steps}
    resolved = {step.id: step.id for step in source.steps if step.id in target_ids}
    source_ids = {step.id for step in source.steps}
    resolved.update(
        {old: new for old, new in mapping.items() if old in source_ids and new in target_ids}
    )
    return resolved


def mapping_problems(sources: list[Flow], target: Flow, mapping: dict[str, str]) -> list[str]:
    """What is wrong with --map, naming the step: an OLD no source version has, a NEW the
    target lacks."""
    known = {step.id for flow in sources for step in flow.steps}
    target_ids = {step.id for step in target.steps}
    problems = []
    for old, new in sorted(mapping.items()):
        if old not in known:
            versions = ", ".join(str(f.version) for f in sources) or "none"
            problems.append(f"map {old}={new}: no step {old!r} in version(s) {versions}")
        if new not in target_ids:
            problems.append(f"map {old}={new}: version {target.version} has no step {new!r}")
    return problems


def migrated_state(
    state: JourneyState, source: Flow, order: MigrationOrder, now: datetime
) -> JourneyState | None:
    """The state the journey continues with on the target version, taken at a safe
    point (between steps, or inside a wait); None when its step has no place there.
    Visits, trail, seen events and keys carry over, so no step already run runs again."""
    step_id = state.current_step
    target_id = order.steps.get(step_id) if step_id is not None else None
    if step_id is None or target_id is None:
        return None
    new = state.model_copy(deep=True)
    new.current_step = target_id
    mark = state.wait
    if mark is None:
        # Between steps: the target step has not started; it is a new visit of it.
        new.current_visit = None
    else:
        # Inside a wait: the same visit goes on at the target step. A renamed step gets a
        # visit number of its own, so its idempotency keys never meet an earlier visit's.
        visit = mark.visit if target_id == step_id else new.visits.get(target_id, 0) + 1
        new.visits[target_id] = max(new.visits.get(target_id, 0), visit)
        new.current_visit = visit
        new.wait = carried_wait(
            source.step(step_id),
            source,
            order.flow.step(target_id),
            order.flow,
            mark.model_copy(update={"visit": visit, "step_id": target_id}),
        )
    new.trail = (
        new.trail
        + [
            StepVisit(
                step_id=step_id,
                visit=mark.visit if mark else state.visits.get(step_id, 0),
                at=now,
                outcome=f"migrated to version {order.flow.version} at step {target_id} "
                f"({order.migration_id})",
                code="migrated",
            )
        ]
    )[-TRAIL_LIMIT:]
    return new


def carried_wait(
    source_step: Step, source: Flow, target_step: Step, target: Flow, mark: WaitMark
) -> WaitMark | None:
    """The wait the target step resumes (see the module's rule); None: the target step
    starts afresh (no wait of that kind, or one planned in the contact's local time)."""
    before, after = (
        _wait_spec(source_step, source, mark.phase),
        _wait_spec(target_step, target, mark.phase),
    )
    if after is None:
        return None
    if before == after:
        return mark
    until = _recomputed(target_step, mark)
    return None if until is _AFRESH else mark.model_copy(update={"until": until})


_AFRESH = object()


def _recomputed(step: Step, mark: WaitMark) -> datetime | None | object:
    """The target's own wait, counted from when the contact's wait began."""
    if mark.phase == "window":
        return _AFRESH
    if mark.phase == "when":
        when = step.when
        if when is None:
            return _AFRESH
        if when.delay is not None:
            return mark.started_at + when.delay
        return when.at if when.at is not None else _AFRESH
    if isinstance(step, WaitForEvent):
        return mark.started_at + step.timeout if step.timeout is not None else None
    if not isinstance(step, Wait):
        return _AFRESH
    if step.delay is not None:
        return mark.started_at + step.delay
    return step.until if step.until is not None else _AFRESH


def _wait_spec(step: Step, flow: Flow, phase: str) -> object:
    """How the step waits in that phase, comparable between versions; None: it does not."""
    if phase == "when":
        return step.when.model_dump(mode="json") if step.when and step.when.given() else None
    if phase == "window":
        window = flow.schedule.send_window if flow.schedule else None
        return window.model_dump(mode="json") if window and isinstance(step, _WINDOWED) else None
    if isinstance(step, Wait):
        return ("wait", step.model_dump(mode="json", include={"delay", "until", "time_of_day"}))
    if isinstance(step, WaitForEvent):
        return ("event", step.model_dump(mode="json", include={"event", "timeout", "matching"}))
    return None


def deadline_rule(
    source_step: Step | None, source: Flow, target_step: Step, target: Flow, phase: str
) -> str:
    """The rule in words, for the dry run."""
    if source_step is None:
        return "starts the step"
    before, after = _wait_spec(source_step, source, phase), _wait_spec(target_step, target, phase)
    if after is None:
        return "wait ends; the target step starts afresh"
    if before == after:
        return "deadline kept"
    if (
        _recomputed(
            target_step, WaitMark(step_id="", visit=0, phase=phase, started_at=datetime(2000, 1, 1))
        )
        is _AFRESH
    ):
        return "target's wait planned afresh (local time)"
    return "target's own wait, counted from when the wait began"
