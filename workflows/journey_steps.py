"""What each step kind does inside a journey (a mixin of JourneyWorkflow): sends, contact
changes, call-outs, scripts and branching (steps that act on other flows are in
journey_flow_control.py). Every side effect is an activity or a child workflow; choices
use only workflow time and randomness."""

from temporalio import workflow
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    WorkflowAlreadyStartedError,
)
from temporalio.exceptions import TimeoutError as ActivityTimedOut
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from domain.contracts.actions import (
        ActionOutcome,
        ActionRequest,
        ControlOutcome,
    )
    from domain.contracts.contact_changes import ContactChangeOutcome, ContactChangeRequest
    from domain.contracts.messaging import SendEmailRequest, SendOutcome, SendSmsRequest
    from domain.events import EventType
    from domain.journey import (
        JourneyInput,
        JourneyState,
        JourneyStatus,
    )
    from domain.step_outcomes import StepOutcome
    from domain.step_table import (
        CONTACT_CHANGE,
        CONTACT_EVENT,
        ERROR_CODES,
        SEND_EMAIL,
        SEND_EMAIL_ATTACHING,
        SEND_SMS,
        Call,
        local_send,
        spec,
    )
    from domain.steps import Step
    from domain.steps.contact_changes import AddTag, ChangeTags, RemoveTag, RunScript
    from domain.steps.experiments import Experiment
    from domain.steps.flow_control import (
        Branch,
        Exit,
        Goal,
        MultiBranch,
        PauseFlow,
        RandomSplit,
        StartFlow,
        StopFlow,
        Wait,
        WaitForEvent,
    )
    from domain.steps.messaging import SendEmail, SendSms
    from workflows.journey_own_changes import JourneyOwnChanges
    from workflows.retries import retry_policy

Next = tuple[str, str | None]  # (outcome text, id of the step to go to next)
# A visit's trail code when the step set none itself, by the role of its kind.
DEFAULT_CODES = {"routing": "branched", "wait": "waited"}


class JourneySteps(JourneyOwnChanges):
    _input: JourneyInput
    _state: JourneyState
    _action_result: tuple[str | None, str | None]
    _code: str | None  # the trail's outcome code for the step running now

    async def _execute(self, step: Step, visit: int) -> Next:
        flow = self._input.flow
        following = flow.following(step)
        if self._held_out(step):  # JourneyExperiments
            return self._coded("skipped:holdout", "held out: no message (holdout)"), following
        match step:
            case Experiment() if self.patched("experiment-step"):
                return await self._experiment(step, visit)
            case SendEmail():
                outcome = await self._act(
                    step,
                    SendEmailRequest.for_step(
                        step,
                        self._key(step, visit),
                        flow.id,
                        self._input.contact_id,
                        transactional=flow.transactional,
                    ),
                    SendOutcome,
                    SEND_EMAIL_ATTACHING if step.attachments else self._send_call(SEND_EMAIL),
                )
                return self._settle(step, outcome, "email")
            case SendSms():
                outcome = await self._act(
                    step,
                    SendSmsRequest.for_step(
                        step,
                        self._key(step, visit),
                        flow.id,
                        self._input.contact_id,
                        transactional=flow.transactional,
                    ),
                    SendOutcome,
                    self._send_call(SEND_SMS),
                )
                return self._settle(step, outcome, "sms")
            case AddTag() | RemoveTag():
                event_type = (
                    EventType.TAG_ADDED if isinstance(step, AddTag) else EventType.TAG_REMOVED
                )
                outcome = await self._act(
                    step, self._tag_request(step, visit, event_type, step.tag), ContactChangeOutcome
                )
                return self._settle(step, outcome, step.kind, done=f"{event_type.value} {step.tag}")
            case ChangeTags():
                changes = [(EventType.TAG_ADDED, t) for t in step.add] + [
                    (EventType.TAG_REMOVED, t) for t in step.remove
                ]
                outcome = StepOutcome(status="done")
                for index, (event_type, tag) in enumerate(changes):
                    outcome = await self._act(
                        step,
                        self._tag_request(step, visit, event_type, tag, index),
                        ContactChangeOutcome,
                    )
                    if outcome.status == "failed":
                        break  # the tags after an invalid one are not changed
                return self._settle(
                    step,
                    outcome,
                    step.kind,
                    done=f"tags +{','.join(step.add)} -{','.join(step.remove)}",
                )
            case RunScript():
                # Fire and forget [001]: a child that outlives this journey runs the
                # script with its own retries; the journey moves on once it has started.
                await self._flush_progress()  # before any wait on the server
                try:
                    await workflow.start_child_workflow(
                        "ScriptRunWorkflow",
                        self._action_request(step, visit),
                        id=f"script/{self._key(step, visit)}",
                        parent_close_policy=ParentClosePolicy.ABANDON,
                        static_summary=f"script {step.script} for {self._input.contact_id}",
                    )
                except WorkflowAlreadyStartedError:
                    # Same key, same run (e.g. a journey reset): triggered once already.
                    return self._coded("done", f"script {step.script} already started"), following
                return self._coded("done", f"script {step.script} started"), following
            case _ if spec(step.kind).role in ("message", "action") and spec(step.kind).call:
                # Call-outs (webhook, phone call, team notice) and contact changes: the
                # step itself travels in one ActionRequest.
                outcome = await self._act(step, self._action_request(step, visit), ActionOutcome)
                return self._settle(step, outcome, step.kind)
            case Wait():
                return await self._wait_step(step, visit), following
            case WaitForEvent():
                return await self._wait_for_event(step, visit)
            case Goal():
                return await self._goal_reached_in_order(step)
            case StartFlow():
                return await self._start_flow(step, visit), following
            case StopFlow() | PauseFlow():
                signal = (
                    "stop"
                    if isinstance(step, StopFlow)
                    else ("pause" if step.action == "pause" else "resume")
                )
                return await self._control_other_flow(step, signal), following
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
        raise ApplicationError(
            f"step {step.id!r}: kind {step.kind!r} is not supported by this " "engine version",
            type="UnsupportedStep",
            non_retryable=True,
        )

    def _send_call(self, call: Call) -> Call:
        """A send through the embedded outbox (JourneyInput.local_sends) runs as a local
        activity: the outbox row and its key are one transaction, so a retry is exact.
        Only in runs with the bundle: the input alone would not do, as a run an older
        worker started with the field (and ignored it) sent them as regular activities."""
        channel = "email" if call is SEND_EMAIL else "sms"
        if channel in self._input.local_sends and self._bundled:
            return local_send(call)
        return call

    # -- the one call path ------------------------------------------------------------
    async def _call(self, call: Call, request, summary: str, result_type=None):
        """Any activity a journey runs, as the step table says: local or regular, with
        the entry's retries and timeouts. Runs from before "journey-local-steps" keep
        their regular activities (their histories hold ActivityTaskScheduled events)."""
        if call.local and self.patched("journey-local-steps"):
            return await workflow.execute_local_activity(
                call.activity,
                request,
                result_type=result_type,
                start_to_close_timeout=call.start_to_close,
                schedule_to_close_timeout=call.schedule_to_close,
                retry_policy=retry_policy(call.retry),
                summary=summary,
            )
        await self._flush_progress()  # a regular activity may take long: report first
        return await workflow.execute_activity(
            call.activity,
            request,
            result_type=result_type,
            start_to_close_timeout=call.start_to_close,
            schedule_to_close_timeout=call.schedule_to_close,
            heartbeat_timeout=call.heartbeat,
            retry_policy=retry_policy(call.retry),
            summary=summary,
        )

    async def _act(
        self, step: Step, request, result_type: type, call: Call | None = None
    ) -> StepOutcome:
        """Run a step's own activity (its table entry, unless `call`) and say what it
        came to; errors the entry records become a failed outcome, the others fail the
        journey."""
        call = call or spec(step.kind).call
        assert call is not None, f"{step.kind} has no activity"
        try:
            result = await self._call(call, request, step.describe(), result_type)
        except (ActivityError, ApplicationError, ActivityTimedOut) as exc:
            # A regular activity's error arrives wrapped in ActivityError; a local
            # activity's as the error itself.
            outcome = self._recorded_failure(
                call, exc.cause if isinstance(exc, ActivityError) else exc
            )
            if outcome is None:
                raise
            return outcome
        self._hear_own(request, result)
        if isinstance(result, (SendOutcome, ActionOutcome)):
            return StepOutcome(
                status=result.status, reason=result.reason, reason_code=result.reason_code
            )
        if isinstance(result, ControlOutcome):
            return StepOutcome(status="done", reason=result.result)
        return StepOutcome(status="done")

    def _recorded_failure(self, call: Call, cause: BaseException | None) -> StepOutcome | None:
        if isinstance(cause, ApplicationError) and cause.type in call.recorded:
            if call is CONTACT_EVENT and not self.patched("tag-invalid-change-recorded"):
                return None  # older runs failed the journey on an invalid tag change
            # A message the provider refuses for good (bad address, blocked sender), a
            # change that can never be valid: recorded on the step; the contact carries
            # on rather than the whole journey failing over it.
            return StepOutcome(
                status="failed",
                reason=cause.message,
                reason_code=ERROR_CODES.get(cause.type or "", cause.type),
            )
        if isinstance(cause, ActivityTimedOut) and call.schedule_to_close is not None:
            # A day of outage: record it on the step rather than fail the journey.
            return StepOutcome(
                status="failed", reason="gave up after a day of retries", reason_code="gave_up"
            )
        return None

    def _settle(
        self, step: Step, outcome: StepOutcome, label: str, done: str | None = None
    ) -> Next:
        """The one place a step's own settings (if_no_phone, on_missing_value) turn what
        its call came to into an exit; otherwise the journey goes on. `done`: the text
        when it went through (default: "<label> <status>: <reason>")."""
        self._note(outcome)
        code = outcome.reason_code
        if (code == "no_address" and getattr(step, "if_no_phone", None) == "exit") or (
            code == "merge_value" and getattr(step, "on_missing_value", None) == "fail"
        ):
            # The activity's reason tells a missing number from an invalid one.
            self._code = f"exited:{code}"
            return self._exit(f"step {step.id}: {outcome.reason}"), None
        if done is not None and outcome.status == "done":
            return done, self._input.flow.following(step)
        text = f"{label} {outcome.status}" + (f": {outcome.reason}" if outcome.reason else "")
        return text, self._input.flow.following(step)

    def _note(self, outcome: StepOutcome) -> None:
        # Kept for the step report and the trail; workflow code never branches on it.
        self._action_result = (outcome.status, outcome.reason_code)
        self._code = outcome.code()

    def _trail_code(self, step: Step) -> str:
        """The trail's code for the visit just ended (StepVisit.code)."""
        if self._code is not None:
            return self._code
        if self._state.status == JourneyStatus.EXITED:
            return "exited"
        return DEFAULT_CODES.get(spec(step.kind).role, "done")

    def _coded(self, code: str, text: str) -> str:
        self._code = code
        return text

    def _tag_request(
        self, step: Step, visit: int, event_type: EventType, tag: str, index: int | None = None
    ) -> ContactChangeRequest:
        key = self._key(step, visit) + (f"/{index}" if index is not None else "")
        return ContactChangeRequest(
            idempotency_key=key,
            contact_id=self._input.contact_id,
            event_type=event_type,
            payload={"tag": tag},
            origin=self._origin(),
        )

    def _action_request(self, step: Step, visit: int) -> ActionRequest:
        return ActionRequest(
            idempotency_key=self._key(step, visit),
            journey_id=workflow.info().workflow_id,
            flow_id=self._input.flow.id,
            step_id=step.id,
            contact_id=self._input.contact_id,
            step=step.model_dump(mode="json"),
            # Only contact changes append events the journey hears as its own.
            origin=self._origin() if spec(step.kind).call is CONTACT_CHANGE else None,
        )
