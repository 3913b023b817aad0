"""Waiting inside a journey (a mixin of JourneyWorkflow): timers, wait-for-event, goals,
pause and stop. Every wait is one Temporal timer started once (so events arriving during
it add no timers), watched together with the journey's inbox of signalled events."""

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.conditions import Condition, ContactSnapshot, evaluate, is_data_free
    from domain.contracts.conditions import EvaluateRequest
    from domain.durations import format_duration
    from domain.journey import (
        EventMark,
        JourneyInput,
        JourneyState,
        JourneyStatus,
        WaitMark,
    )
    from domain.step_table import CONDITION
    from domain.steps import Step
    from domain.steps.flow_control import Goal, Wait, WaitForEvent
    from workflows.journey_progress import JourneyProgressReports

RECENT_EVENTS_LIMIT = 200
Ending = Literal["time", "late", "ready", "interrupted", "forever"]


def event_name(event) -> str:
    """Custom events are waited for by their own name, the others by type."""
    return event.payload.get("name", event.type) if event.type == "custom" else event.type


class JourneyWaits(JourneyProgressReports):
    _input: JourneyInput
    _state: JourneyState
    _goal_hit: Goal | None
    _awaiting: WaitForEvent | None
    _matched: EventMark | None
    _code: str | None
    # Provided by JourneyWorkflow: _continue_as_new_if_due(), _set_status(), _plan();
    # by JourneySteps: _call() (the one call path).

    # -- the one wait primitive ------------------------------------------------------
    async def _wait_until(
        self,
        step: Step,
        visit: int,
        phase: str,
        deadline: datetime | None,
        summary: str,
        ready: Callable[[], bool] | None = None,
    ) -> Ending:
        """Until `deadline` (None: no timer), `ready()`, or a stop or goal interrupts.
        'late' is a deadline that passed while the contact was paused."""
        mark = self._state.wait
        if mark is not None and (mark.step_id, mark.visit, mark.phase) == (step.id, visit, phase):
            deadline = mark.until  # resumed after continue-as-new: the same wait, not a new one
        else:
            self._state.wait = WaitMark(
                step_id=step.id, visit=visit, phase=phase, until=deadline, started_at=workflow.now()
            )
        timer = None
        if deadline is not None and deadline > workflow.now():
            duration = deadline - workflow.now()
            timer = asyncio.ensure_future(
                workflow.sleep(duration, summary=f"{summary} ({format_duration(duration)})")
            )
        late = False
        shown_paused = self._state.status == JourneyStatus.PAUSED
        try:
            while True:
                await self._drain_inbox()
                if self._state.paused != shown_paused:
                    # Ops see a held contact in the UI by its status. Compared with what
                    # was last shown, not with the flag before the wait: a pause that
                    # lands while an event is being handled must still show.
                    shown_paused = self._state.paused
                    self._set_status(
                        JourneyStatus.PAUSED if shown_paused else JourneyStatus.WAITING
                    )
                if self._interrupted():
                    return "interrupted"
                if ready is not None and ready():
                    return "ready"
                due = deadline is not None and (timer is None or timer.done())
                if due and not self._state.paused:
                    if timer is not None:
                        self._state.timers_fired += 1
                    return "late" if late else "time"
                late = late or (due and self._state.paused)
                await self._continue_as_new_if_due()
                seen = (due, self._state.paused)
                await self._flush_progress()  # a waiting journey is shown where it waits
                await workflow.wait_condition(
                    lambda: bool(self._state.inbox)
                    or self._interrupted()
                    or self._migrating()
                    or (
                        deadline is not None and (timer is None or timer.done()),
                        self._state.paused,
                    )
                    != seen  # noqa: B023 (awaited within this iteration)
                )
        finally:
            if timer is not None and not timer.done():
                timer.cancel()
            self._state.wait = None

    # -- the steps and gates that wait -----------------------------------------------
    async def _wait_step(self, step: Wait, visit: int) -> str:
        if step.time_of_day is not None:
            deadline = await self._plan(step, {"time_of_day": step.time_of_day})
        elif step.delay is not None:
            deadline = workflow.now() + step.delay
        else:
            deadline = step.until
        ending = await self._wait_until(step, visit, "step", deadline, step.describe())
        if ending == "late" and self._input.flow.expired_while_paused == "skip":
            # The timer held the next step; its moment passed while paused: skip it.
            self._state.skip_next = True
            self._code = "waited:next_skipped"
            return "waited (ran out while paused: the next step is skipped)"
        self._code = "interrupted" if ending == "interrupted" else "waited"
        return self._code

    async def _wait_for_event(self, step: WaitForEvent, visit: int) -> tuple[str, str | None]:
        """ "Wait 1 day or until a reply is received" [004]: wakes as soon as the event is
        signalled; earlier events count only if the step says so."""
        flow = self._input.flow
        following = flow.following(step)
        self._awaiting, self._matched = step, None
        try:
            if step.count_earlier_events:
                for mark in self._state.recent_events:
                    if mark.name == step.event and await self._counts(step):
                        self._matched = mark
                        break
            deadline = workflow.now() + step.timeout if step.timeout is not None else None
            ending = await self._wait_until(
                step,
                visit,
                "step",
                deadline,
                step.describe(),
                ready=lambda: self._matched is not None,
            )
        finally:
            self._awaiting = None
        if ending == "ready":
            # The event is used up, so a loop back to this wait needs a new one; and being
            # woken counts as a wait for the loop guard, as a fired timer does.
            self._state.recent_events = [
                m for m in self._state.recent_events if m.event_id != self._matched.event_id
            ]
            self._state.timers_fired += 1
            self._code = "received"
            return f"{step.event} received", step.on_event or following
        if ending == "interrupted":
            self._code = "interrupted"
            return "interrupted", following
        self._code = "timed_out"
        return f"no {step.event} in time", step.on_timeout or following

    async def _counts(self, step: WaitForEvent) -> bool:
        return step.matching is None or await self._holds(step, step.matching)

    async def _hold_while_paused(self) -> None:
        if not self._state.paused or self._interrupted():
            return
        self._set_status(JourneyStatus.PAUSED)
        while self._state.paused and not self._interrupted():
            await self._continue_as_new_if_due()
            await self._flush_progress()  # a held contact is shown where it is held
            await workflow.wait_condition(
                lambda: bool(self._state.inbox)
                or self._migrating()
                or not self._state.paused
                or self._interrupted()
            )
            await self._drain_inbox()

    # -- events, goals and conditions ------------------------------------------------
    async def _drain_inbox(self) -> None:
        while self._state.inbox:
            event = self._state.inbox.pop(0)
            mark = EventMark(
                event_id=event.event_id, name=event_name(event), received_at=workflow.now()
            )
            self._state.recent_events = (self._state.recent_events + [mark])[-RECENT_EVENTS_LIMIT:]
            waiting = self._awaiting
            if waiting is not None and self._matched is None and mark.name == waiting.event:
                if await self._counts(waiting):
                    self._matched = mark
            await self._check_goals()

    async def _check_goals(self) -> None:
        """Goals are re-checked whenever an event reaches the journey [003]."""
        goals = self._input.flow.goals()
        if not goals or self._goal_hit is not None or self._state.conversion is not None:
            return
        # Journeys recorded before goals were checked must replay without these activities.
        if not self.patched("goal-checks-on-events"):
            return
        for goal in goals:
            if goal.goal is not None and await self._holds(goal, goal.goal):
                self._goal_hit = goal
                return

    def _migrating(self) -> bool:
        """A migration order waits to be taken (workflows.journey_migration)."""
        return getattr(self, "_migration", None) is not None

    def _interrupted(self) -> bool:
        return self._state.stop_reason is not None or self._goal_hit is not None

    async def _holds(self, step: Step, condition: Condition) -> bool:
        if is_data_free(condition) and self.patched("clock-conditions-in-workflow"):
            # Only the clock matters: decide here on workflow.now(), which replays exactly.
            # Journeys started before this change asked the activity; the patch keeps them.
            return evaluate(
                condition, ContactSnapshot(contact_id=self._input.contact_id), workflow.now()
            )
        return await self._call(  # type: ignore[attr-defined]
            CONDITION,
            EvaluateRequest(
                contact_id=self._input.contact_id,
                condition=condition,
                as_of=workflow.now(),
                flow_zone=schedule.time_zone if (schedule := self._input.flow.schedule) else None,
            ),
            f"check {step.describe()}",
            bool,
        )
