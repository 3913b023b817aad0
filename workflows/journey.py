"""JourneyWorkflow: one contact's path through one published flow version.

The flow arrives as a snapshot in the input and is never re-read, so a running journey
stays pinned to the version it started on and replays deterministically. Every side
effect is an activity; every wait is a Temporal timer.
"""

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimedOut

with workflow.unsafe.imports_passed_through():
    from activities.conditions import EvaluateRequest
    from activities.contact_changes import ContactChangeRequest
    from activities.messaging import SendEmailRequest, SendOutcome, SendSmsRequest
    from domain.durations import format_duration
    from domain.events import ContactEvent, EventType
    from domain.conditions import Condition, ContactSnapshot, evaluate, is_data_free
    from domain.steps import Step
    from domain.steps.contact_changes import AddTag, ChangeTags, RemoveTag
    from domain.steps.flow_control import Branch, Exit, MultiBranch, RandomSplit, Wait
    from domain.steps.messaging import SendEmail, SendSms
    from domain.journey import (
        JourneyInput, JourneyState, JourneyStatus, StepVisit, idempotency_key,
    )
    from workflows import search_attributes as sa

# Sends retry for a day with capped backoff: a provider outage delays mail rather than
# dropping it; after a day the step records the failure and the journey goes on.
# Rejections (4xx) are non-retryable and are recorded on the step at once.
SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                         maximum_interval=timedelta(minutes=5),
                         non_retryable_error_types=["ProviderRejected", "UnknownContact"])
ACTIVITY_TIMEOUT = timedelta(seconds=60)
SEND_SCHEDULE_TIMEOUT = timedelta(days=1)
TRAIL_LIMIT = 200
SEEN_EVENTS_LIMIT = 500


@workflow.defn(name="JourneyWorkflow")
class JourneyWorkflow:
    def __init__(self) -> None:
        self._state = JourneyState()
        self._seen_event_ids: list[str] = []

    @workflow.signal(name="event")
    def on_event(self, event: ContactEvent) -> None:
        # The router may deliver the same event twice (signal-with-start plus a retry);
        # journeys must react to it once.
        if event.event_id in self._seen_event_ids:
            return
        # Steps that react to events (wait-for-event, goals) are not run by this engine
        # version yet, so an event only counts; nothing is buffered to grow the state.
        self._seen_event_ids = (self._seen_event_ids + [event.event_id])[-SEEN_EVENTS_LIMIT:]
        self._state.events_seen += 1

    @workflow.query(name="state")
    def state(self) -> JourneyState:
        return self._state

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyState:
        self._input = input
        flow = input.flow
        if input.state is not None:
            self._state = input.state
        elif self._state.current_step is None:
            self._state.current_step = flow.steps[0].id
        step_id = self._state.current_step
        while step_id is not None and self._state.status != JourneyStatus.EXITED:
            step = flow.step(step_id)
            visit = self._state.visits.get(step.id, 0) + 1
            self._state.visits[step.id] = visit
            self._guard_against_spinning(step)
            outcome, step_id = await self._run_step(step, visit)
            self._state.trail = (self._state.trail + [
                StepVisit(step_id=step.id, visit=visit, outcome=outcome)])[-TRAIL_LIMIT:]
        if self._state.status != JourneyStatus.EXITED:
            self._state.status = JourneyStatus.COMPLETED
        self._state.current_step = None
        workflow.upsert_search_attributes([sa.STATUS.value_set(self._state.status.value),
                                           sa.CURRENT_STEP.value_set("")])
        return self._state

    def _guard_against_spinning(self, step: Step) -> None:
        """Validation refuses loops without a wait, but a wait can still be skipped at run
        time (its condition is false, its date has passed). Coming back to a step with no
        timer fired since the last visit would send again and again: stop the journey."""
        last = self._state.timer_marks.get(step.id)
        if last is not None and last == self._state.timers_fired:
            raise ApplicationError(f"step {step.id!r} came round again without any wait in "
                                   "between; stopping this journey so it cannot spin",
                                   type="LoopWithoutWait", non_retryable=True)
        self._state.timer_marks[step.id] = self._state.timers_fired

    def _enter(self, step: Step, status: JourneyStatus) -> None:
        self._state.current_step = step.id
        self._state.status = status
        workflow.upsert_search_attributes([sa.CURRENT_STEP.value_set(step.id),
                                           sa.STATUS.value_set(status.value)])
        workflow.set_current_details(f"At step **{step.describe()}**")

    def _key(self, step: Step, visit: int) -> str:
        return idempotency_key(workflow.info().workflow_id, self._input.enrollment_id, step.id, visit)

    async def _run_step(self, step: Step, visit: int) -> tuple[str, str | None]:
        """"When to run" first, then the step's own condition, then the step itself."""
        flow = self._input.flow
        if step.when is not None and step.when.given():
            self._enter(step, JourneyStatus.WAITING)
            await self._sleep(step, step.when.delay, step.when.at)
        self._enter(step, JourneyStatus.WAITING if isinstance(step, Wait) else JourneyStatus.RUNNING)
        audience = step.audience
        if audience is not None and audience.who == "matching" and audience.terms is not None:
            if not await self._holds(step, audience.terms):
                return "not in the step's audience: skipped", flow.following(step)
        if step.run_if is not None and not await self._holds(step, step.run_if):
            if step.on_false == "exit":
                return self._exit(f"condition of step {step.id} not met"), None
            if step.on_false == "branch":
                return "condition not met: branched", step.false_next or flow.following(step)
            return "condition not met: skipped", flow.following(step)
        return await self._execute(step, visit)

    async def _holds(self, step: Step, condition: Condition) -> bool:
        if is_data_free(condition) and workflow.patched("clock-conditions-in-workflow"):
            # Only the clock matters: decide here on workflow.now(), which replays exactly.
            # Journeys started before this change asked the activity; the patch keeps them.
            return evaluate(condition, ContactSnapshot(contact_id=self._input.contact_id),
                            workflow.now())
        return await workflow.execute_activity(
            "evaluate_condition", EvaluateRequest(
                contact_id=self._input.contact_id, condition=condition, as_of=workflow.now()),
            result_type=bool, start_to_close_timeout=ACTIVITY_TIMEOUT,
            summary=f"check {step.describe()}")

    async def _execute(self, step: Step, visit: int) -> tuple[str, str | None]:
        """Run one step; returns (outcome text, id of the step to go to next)."""
        flow = self._input.flow
        following = flow.following(step)
        match step:
            case SendEmail():
                result = await self._send("send_email", SendEmailRequest(
                    idempotency_key=self._key(step, visit), flow_id=flow.id, step_id=step.id,
                    contact_id=self._input.contact_id, subject=step.subject, body=step.body,
                    from_email=step.from_email), step)
                return f"email {result.status}" + (f": {result.reason}" if result.reason else ""), following
            case SendSms():
                result = await self._send("send_sms", SendSmsRequest(
                    idempotency_key=self._key(step, visit), flow_id=flow.id, step_id=step.id,
                    contact_id=self._input.contact_id, text=step.text, sender=step.sender), step)
                if result.reason_code == "no_address" and step.if_no_phone == "exit":
                    return self._exit(f"no phone number at step {step.id}"), None
                return f"sms {result.status}" + (f": {result.reason}" if result.reason else ""), following
            case AddTag() | RemoveTag():
                event_type = EventType.TAG_ADDED if isinstance(step, AddTag) else EventType.TAG_REMOVED
                await self._change_tag(step, self._key(step, visit), event_type, step.tag)
                return f"{event_type.value} {step.tag}", following
            case ChangeTags():
                changes = [(EventType.TAG_ADDED, t) for t in step.add] + [
                    (EventType.TAG_REMOVED, t) for t in step.remove]
                for index, (event_type, tag) in enumerate(changes):
                    await self._change_tag(step, f"{self._key(step, visit)}/{index}", event_type, tag)
                return f"tags +{','.join(step.add)} -{','.join(step.remove)}", following
            case Wait():
                await self._sleep(step, step.delay, step.until)
                return "waited", following
            case Branch():
                matched = await self._holds(step, step.condition)
                target = (step.then if matched else step.otherwise) or following
                return ("condition true" if matched else "condition false"), target
            case MultiBranch():
                for index, path in enumerate(step.paths):
                    if await self._holds(step, path.condition):
                        return f"path {path.name or index} taken", path.goto or following
                return "no path matched", step.otherwise or following
            case RandomSplit():
                # workflow.random() is seeded by the workflow run, so replay draws the same.
                draw, total = workflow.random().uniform(0, 100), 0.0
                for index, path in enumerate(step.paths):
                    total += path.percent
                    if draw < total:
                        return f"split path {path.name or index}", path.goto or following
                return "split: no path", following
            case Exit():
                return self._exit(step.reason or f"exit step {step.id}"), None
        # Flows may be published with steps a newer engine runs; this one fails the journey
        # loudly rather than skipping an action silently.
        raise ApplicationError(f"step {step.id!r}: kind {step.kind!r} is not supported by this "
                               "engine version", type="UnsupportedStep", non_retryable=True)

    async def _change_tag(self, step: Step, key: str, event_type: EventType, tag: str) -> None:
        await workflow.execute_activity(
            "change_contact", ContactChangeRequest(
                idempotency_key=key, contact_id=self._input.contact_id,
                event_type=event_type, payload={"tag": tag}),
            start_to_close_timeout=ACTIVITY_TIMEOUT, summary=step.describe())

    async def _send(self, activity_name: str, request, step: Step) -> SendOutcome:
        try:
            return await workflow.execute_activity(
                activity_name, request, result_type=SendOutcome,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=SEND_SCHEDULE_TIMEOUT, retry_policy=SEND_RETRY,
                summary=step.describe())
        except ActivityError as exc:
            # A message the provider refuses for good (bad address, blocked sender) is
            # recorded on the step; the contact carries on with the flow rather than the
            # whole journey failing over one undeliverable message.
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == "ProviderRejected":
                return SendOutcome(status="failed", reason=cause.message, reason_code="rejected")
            if isinstance(cause, ActivityTimedOut):
                # A day of outage: record it on the step rather than fail the journey.
                return SendOutcome(status="failed", reason="provider unavailable for a day; gave up",
                                   reason_code="gave_up")
            raise

    async def _sleep(self, step: Step, delay: timedelta | None, until: datetime | None) -> None:
        if delay is not None:
            duration = delay
        elif until is not None:
            duration = until - workflow.now()
            if duration <= timedelta(0):
                return
        else:
            raise ApplicationError(f"step {step.id!r}: waiting for a time in the contact's zone "
                                   "is not supported by this engine version", type="UnsupportedStep",
                                   non_retryable=True)
        await workflow.sleep(duration, summary=f"{step.describe()} ({format_duration(duration)})")
        self._state.timers_fired += 1

    def _exit(self, reason: str) -> str:
        self._state.status = JourneyStatus.EXITED
        self._state.exit_reason = reason
        return f"exited: {reason}"

