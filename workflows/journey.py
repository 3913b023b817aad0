"""JourneyWorkflow: one contact's path through one published flow version.

The flow arrives as a snapshot in the input and is never re-read, so a running journey
stays pinned to the version it started on and replays deterministically. Every side
effect is an activity; every wait is a Temporal timer. Long journeys continue as new,
carrying their whole state (JourneyState), so history stays bounded.
"""

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import SearchAttributePair
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from domain.contracts.scheduling import PlanRequest
    from domain.events import ContactEvent
    from domain.journey import (
        ENDED,
        TRAIL_LIMIT,
        JourneyInput,
        JourneyState,
        JourneyStatus,
        StepVisit,
        idempotency_key,
    )
    from domain.step_outcomes import StepReport
    from domain.step_table import PLAN_WAKE, holds_back, spec
    from domain.steps import Step
    from domain.steps.flow_control import Goal, Wait, WaitForEvent
    from workflows import search_attributes as sa
    from workflows.journey_experiments import JourneyExperiments
    from workflows.journey_flow_control import JourneyFlowControl
    from workflows.journey_goals import JourneyGoals
    from workflows.journey_migration import JourneyMigrations
    from workflows.journey_steps import JourneySteps, Next
    from workflows.journey_waits import JourneyWaits

# How long a failing run tries to write its held step reports before it fails anyway.
FAILING_RUN_REPORT = timedelta(minutes=5)
SEEN_EVENTS_LIMIT = 500
# Events handled per run before continuing as new: each costs a few history events, so
# this keeps a run's history in the low thousands whatever Temporal's own suggestion.
EVENTS_PER_RUN = 500


@workflow.defn(name="JourneyWorkflow")
class JourneyWorkflow(
    JourneySteps,
    JourneyFlowControl,
    JourneyWaits,
    JourneyGoals,
    JourneyMigrations,
    JourneyExperiments,
):
    @workflow.init
    def __init__(self, input: JourneyInput) -> None:
        # State comes from the input here, not in run(): signals delivered with the
        # first task of a continued run are handled before run() starts.
        self._input = input
        self._state = input.state.model_copy(deep=True) if input.state else JourneyState()
        self._goal_hit: Goal | None = None
        self._awaiting: WaitForEvent | None = None
        self._matched = None
        self._events_this_run = 0
        self._may_continue_as_new = False
        # The last send's or action's own status, for the step report (never branched on).
        self._action_result: tuple[str | None, str | None] = (None, None)
        self._code: str | None = None  # the running step's trail code, once it has one
        self._unreported: list[StepReport] = []  # held by runs that batch (journey_progress.py)
        self._unshown: dict[str, SearchAttributePair] = {}  # held by v10 runs, by key name

    @workflow.signal(name="event")
    def on_event(self, event: ContactEvent) -> None:
        # The router may deliver the same event twice (signal-with-start plus a retry);
        # journeys must react to it once.
        if event.event_id in self._state.seen_event_ids or self._state.status in ENDED:
            return
        self._state.seen_event_ids = (self._state.seen_event_ids + [event.event_id])[
            -SEEN_EVENTS_LIMIT:
        ]
        self._state.events_seen += 1
        self._events_this_run += 1
        self._state.inbox.append(event)

    @workflow.signal(name="pause")
    def pause(self) -> None:
        self._state.paused = self._state.status not in ENDED

    @workflow.signal(name="resume")
    def resume(self) -> None:
        self._state.paused = False

    @workflow.signal(name="stop")
    def stop(self, reason: str = "stopped") -> None:
        if self._state.status not in ENDED:
            self._state.stop_reason = reason or "stopped"

    @workflow.query(name="state")
    def state(self) -> JourneyState:
        return self._state

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyState:
        flow, state = input.flow, self._state
        self._ask_bundle()  # first: every patch below may be answered by it
        # Journeys started before continue-as-new existed must replay without it.
        self._may_continue_as_new = self.patched("journey-continue-as-new")
        if state.current_step is None and not state.trail:
            state.current_step = flow.steps[0].id
            # A sub-flow's journey indexes itself too: its parent may be replaying from
            # before the index, and then does not record it (patches are per run).
            if workflow.info().parent is not None and self.patched("journey-index-start"):
                await self._record_in_index(ended=False)
        try:
            await self._walk(flow, state)
        except FailureError:
            # The run fails (a step's error, a loop without a wait): the steps it did
            # still count, if the database takes them soon; the run's own error wins.
            await self._flush_progress(give_up_after=FAILING_RUN_REPORT)
            raise
        if state.status not in ENDED:
            state.status = JourneyStatus.COMPLETED
        state.current_step = None
        self._show(
            SearchAttributePair(sa.STATUS, state.status.value),
            SearchAttributePair(sa.CURRENT_STEP, ""),
        )
        # The journey index learns of the end from the journey itself, so the router stops
        # signalling it; journeys from before the index replay without this.
        if self.patched("journey-index-end"):
            # How it ended goes with it, for the journeys-ended metric (counted once, when
            # the row moves to ended); journeys from before replay without it.
            how = {"status": state.status.value} if self.patched("journey-end-status") else {}
            await self._record_end(**how)
        return state

    async def _walk(self, flow, state: JourneyState) -> None:
        """Step after step from the current one, until the flow or the journey ends."""
        step_id = state.current_step
        while step_id is not None and state.status not in ENDED:
            state.current_step = step_id
            step = flow.step(step_id)
            if state.current_visit is None:  # a new visit, not a step resumed after continue-as-new
                state.current_visit = state.visits.get(step.id, 0) + 1
                state.visits[step.id] = state.current_visit
                self._guard_against_spinning(step)
            visit = state.current_visit
            self._action_result, self._code = (None, None), None
            # What quiet hours hold back and a timer that ran out while paused skips: the
            # step table says (domain/step_table.py).
            if state.skip_next and holds_back(step.kind):
                # Only what the expired timer held back is skipped: an action. Routing
                # steps (branch, exit, goal...) still run, or the contact could go where
                # the flow never leads.
                state.skip_next = False
                outcome, step_id = "skipped: its time passed while paused", flow.following(step)
                self._code = "skipped:expired_while_paused"
            else:
                state.skip_next = False
                outcome, step_id = await self._run_step(step, visit)
            state.current_visit = None
            state.trail = (
                state.trail
                + [
                    StepVisit(
                        step_id=step.id,
                        visit=visit,
                        outcome=outcome,
                        at=workflow.now(),
                        code=self._trail_code(step),
                    )
                ]
            )[-TRAIL_LIMIT:]
            # Reported before _after_step, which may hold (pause) or continue as new: the
            # visit is counted when it ends. Journeys from before this replay without it.
            if self.patched("journey-step-report"):
                await self._report_step(step, visit, outcome, step_id)
            step_id = await self._after_step(step_id)

    async def _after_step(self, next_id: str | None) -> str | None:
        """Between steps: look at signalled events, honour stop, goals and pause, and
        continue as new when the history has grown enough. The next step is recorded
        before any hold, so a run continued from here starts at that step, not again at
        the one that just finished."""
        while True:
            await self._drain_inbox()
            if self._state.stop_reason is not None and self._state.status not in ENDED:
                self._exit(f"stopped: {self._state.stop_reason}")
                return None
            if self._goal_hit is not None:
                next_id = await self._convert(self._goal_hit, next_id)
            if next_id is None or self._state.status in ENDED:
                return None
            self._state.current_step = next_id
            if not self._state.paused:
                await self._continue_as_new_if_due()
                return next_id
            # Held between steps; a stop or a goal met meanwhile is handled above, and a
            # contact that converts and carries on is held again before its next step.
            await self._hold_while_paused()

    async def _run_step(self, step: Step, visit: int) -> Next:
        """ "When to run" first, then the step's own condition, then the step itself.
        A step resumed inside its own wait after continue-as-new skips straight to it."""
        flow = self._input.flow
        following = flow.following(step)
        mark = self._state.wait
        resumed = (
            mark if mark is not None and (mark.step_id, mark.visit) == (step.id, visit) else None
        )
        if resumed is not None and resumed.phase == "step":
            self._enter(step, JourneyStatus.WAITING)
            return await self._execute(step, visit)
        if (
            step.when is not None
            and step.when.given()
            and (resumed is None or resumed.phase == "when")
        ):
            self._enter(step, JourneyStatus.WAITING)
            when = step.when
            deadline = (
                workflow.now() + when.delay
                if when.delay is not None
                else when.at
                if when.at is not None
                else await self._plan(step, {"local_at": when.local_at})
            )
            ending = await self._wait_until(step, visit, "when", deadline, step.describe())
            if ending == "interrupted":
                return self._coded("interrupted", "interrupted"), following
            if ending == "late" and flow.expired_while_paused == "skip":
                return self._coded(
                    "skipped:expired_while_paused", "skipped: its time passed while paused"
                ), following
        if spec(step.kind).quiet_hours and flow.schedule is not None and flow.schedule.send_window:
            # Quiet hours: a message due outside the flow's send window waits for it.
            self._enter(step, JourneyStatus.WAITING)
            deadline = await self._plan(step, {"window": True})
            if (
                await self._wait_until(
                    step, visit, "window", deadline, f"send window for {step.describe()}"
                )
                == "interrupted"
            ):
                return self._coded("interrupted", "interrupted"), following
        self._enter(
            step,
            JourneyStatus.WAITING
            if isinstance(step, (Wait, WaitForEvent))
            else JourneyStatus.RUNNING,
        )
        audience = step.audience
        if audience is not None and audience.who == "matching" and audience.terms is not None:
            if not await self._holds(step, audience.terms):
                return self._coded(
                    "skipped:not_in_audience", "not in the step's audience: skipped"
                ), following
        if step.run_if is not None and not await self._holds(step, step.run_if):
            if step.on_false == "exit":
                self._code = "exited:condition_not_met"
                return self._exit(f"condition of step {step.id} not met"), None
            if step.on_false == "branch":
                return self._coded(
                    "branched:condition_not_met", "condition not met: branched"
                ), step.false_next or following
            return self._coded("skipped:condition_not_met", "condition not met: skipped"), following
        return await self._execute(step, visit)

    async def _plan(self, step: Step, when: dict) -> datetime:
        """A moment in the contact's own time zone (or the flow's send window), decided by
        an activity (it reads the contact's zone) as of workflow time, so replay agrees."""
        return await self._call(
            PLAN_WAKE,
            PlanRequest(
                contact_id=self._input.contact_id,
                now=workflow.now(),
                schedule=self._input.flow.schedule,
                **when,
            ),
            f"local time for {step.describe()}",
            datetime,
        )

    async def _continue_as_new_if_due(self) -> None:
        await self._take_migration()  # every safe point; a migration continues as new
        if not self._may_continue_as_new or not (
            workflow.info().is_continue_as_new_suggested()
            or self._events_this_run >= EVENTS_PER_RUN
        ):
            return
        await self._flush_progress()  # held reports do not cross runs
        # A migrate order signalled while the flush ran would not cross runs either.
        await self._take_migration()
        # Let signal handlers finish so every received event is in the carried state.
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._state.runs += 1
        workflow.continue_as_new(
            JourneyInput(
                flow=self._input.flow,
                contact_id=self._input.contact_id,
                enrollment_id=self._input.enrollment_id,
                state=self._state.model_copy(deep=True),
                local_sends=self._input.local_sends,
            )
        )

    def _guard_against_spinning(self, step: Step) -> None:
        """Validation refuses loops without a wait, but a wait can still be skipped at run
        time (its condition is false, its date has passed). Coming back to a step with no
        timer fired since the last visit would send again and again: stop the journey."""
        last = self._state.timer_marks.get(step.id)
        if last is not None and last == self._state.timers_fired:
            raise ApplicationError(
                f"step {step.id!r} came round again without any wait in "
                "between; stopping this journey so it cannot spin",
                type="LoopWithoutWait",
                non_retryable=True,
            )
        self._state.timer_marks[step.id] = self._state.timers_fired

    def _enter(self, step: Step, status: JourneyStatus) -> None:
        self._state.current_step = step.id
        self._set_status(status, step)
        workflow.set_current_details(f"At step **{step.describe()}**")

    def _set_status(self, status: JourneyStatus, step: Step | None = None) -> None:
        self._state.status = status
        shown = [SearchAttributePair(sa.STATUS, status.value)]
        if step is not None:
            shown.insert(0, SearchAttributePair(sa.CURRENT_STEP, step.id))
        self._show(*shown)

    def _key(self, step: Step, visit: int) -> str:
        return idempotency_key(
            workflow.info().workflow_id, self._input.enrollment_id, step.id, visit
        )

    def _exit(self, reason: str) -> str:
        self._state.status = JourneyStatus.EXITED
        self._state.exit_reason = reason
        return f"exited: {reason}"
