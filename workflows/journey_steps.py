"""What each step kind does inside a journey (a mixin of JourneyWorkflow): sends, contact
changes, call-outs, scripts, branching and steps that act on other flows. Every side
effect is an activity or a child workflow; choices use only workflow time and randomness."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError, ApplicationError, ChildWorkflowError, WorkflowAlreadyStartedError,
)
from temporalio.exceptions import TimeoutError as ActivityTimedOut
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from domain.contracts.actions import (
        CALLOUT_ACTIVITIES, CONTACT_CHANGE_ACTIVITY, ActionOutcome, ActionRequest,
        ControlOutcome, ControlRequest, FlowRequest,
    )
    from domain.contracts.contact_changes import ContactChangeRequest
    from domain.contracts.messaging import SendEmailRequest, SendOutcome, SendSmsRequest
    from domain.events import EventType
    from domain.flow import Flow
    from domain.journey import REUSE_POLICIES, JourneyInput, JourneyState, journey_workflow_id
    from workflows import search_attributes as sa
    from domain.steps import Step
    from domain.steps.experiments import Experiment
    from domain.steps.contact_changes import (
        CONTACT_CHANGE_STEPS, AddTag, ChangeTags, RemoveTag, RunScript,
    )
    from domain.steps.flow_control import (
        Branch, Exit, Goal, MultiBranch, PauseFlow, RandomSplit, StartFlow, StopFlow, Wait,
        WaitForEvent,
    )
    from domain.steps.messaging import NotifyTeam, PhoneCall, SendEmail, SendSms, Webhook

# Sends retry for a day with capped backoff: a provider outage delays mail rather than
# dropping it; after a day the step records the failure and the journey goes on.
# Rejections (4xx) are non-retryable and are recorded on the step at once.
SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                         maximum_interval=timedelta(minutes=5),
                         non_retryable_error_types=["ProviderRejected", "UnknownContact",
                                                    "TargetRefused"])
# Contact changes only touch our own database: retry until it answers, except a change
# that can never be valid.
CHANGE_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1),
                           non_retryable_error_types=["InvalidChange", "UnknownContact"])
# Errors an action reports as final: recorded on the step, and the journey goes on.
FINAL_ACTION_ERRORS = frozenset({"ProviderRejected", "InvalidChange", "UnknownContact",
                                 "TargetRefused", "UnknownFlow"})
ACTIVITY_TIMEOUT = timedelta(seconds=60)
SEND_SCHEDULE_TIMEOUT = timedelta(days=1)

Next = tuple[str, str | None]  # (outcome text, id of the step to go to next)


class JourneySteps:
    _input: JourneyInput
    _state: JourneyState
    _action_result: tuple[str | None, str | None]

    async def _execute(self, step: Step, visit: int) -> Next:
        flow = self._input.flow
        following = flow.following(step)
        if self._held_out(step):  # JourneyExperiments
            return "held out: no message (holdout)", following
        match step:
            case Experiment() if workflow.patched("experiment-step"):
                return await self._experiment(step, visit)
            case SendEmail():
                result = await self._send("send_email", SendEmailRequest.for_step(
                    step, self._key(step, visit), flow.id, self._input.contact_id,
                    transactional=flow.transactional), step)
                if result.reason_code == "merge_value" and step.on_missing_value == "fail":
                    return self._exit(f"step {step.id}: {result.reason}"), None
                return f"email {result.status}" + (f": {result.reason}" if result.reason else ""), following
            case SendSms():
                result = await self._send("send_sms", SendSmsRequest.for_step(
                    step, self._key(step, visit), flow.id, self._input.contact_id,
                    transactional=flow.transactional), step)
                if result.reason_code == "no_address" and step.if_no_phone == "exit":
                    # The activity's reason tells a missing number from an invalid one.
                    return self._exit(f"step {step.id}: {result.reason}"), None
                if result.reason_code == "merge_value" and step.on_missing_value == "fail":
                    return self._exit(f"step {step.id}: {result.reason}"), None
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
            case RunScript():
                # Fire and forget [001]: a child that outlives this journey runs the
                # script with its own retries; the journey moves on once it has started.
                try:
                    await workflow.start_child_workflow(
                        "ScriptRunWorkflow", self._action_request(step, visit),
                        id=f"script/{self._key(step, visit)}",
                        parent_close_policy=ParentClosePolicy.ABANDON,
                        static_summary=f"script {step.script} for {self._input.contact_id}")
                except WorkflowAlreadyStartedError:
                    # Same key, same run (e.g. a journey reset): triggered once already.
                    return f"script {step.script} already started", following
                return f"script {step.script} started", following
            case Webhook() | PhoneCall() | NotifyTeam():
                result = await self._action(CALLOUT_ACTIVITIES[step.kind], step, visit, SEND_RETRY)
                if result.reason_code == "merge_value" and step.on_missing_value == "fail":
                    return self._exit(f"step {step.id}: {result.reason}"), None
                return result.describe(step.kind), following
            case _ if isinstance(step, CONTACT_CHANGE_STEPS):
                result = await self._action(CONTACT_CHANGE_ACTIVITY, step, visit, CHANGE_RETRY)
                return result.describe(step.kind), following
            case Wait():
                return await self._wait_step(step, visit), following
            case WaitForEvent():
                return await self._wait_for_event(step, visit)
            case Goal():
                return await self._goal_reached_in_order(step)
            case StartFlow():
                return await self._start_flow(step, visit), following
            case StopFlow() | PauseFlow():
                signal = "stop" if isinstance(step, StopFlow) else (
                    "pause" if step.action == "pause" else "resume")
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
        raise ApplicationError(f"step {step.id!r}: kind {step.kind!r} is not supported by this "
                               "engine version", type="UnsupportedStep", non_retryable=True)

    async def _start_flow(self, step: StartFlow, visit: int) -> str:
        """Add the contact to another flow: as a child journey this one waits for, or
        through the router like any enrollment (fire and forget)."""
        target = step.flow_id or ""
        if not step.wait_for_completion:
            outcome = await self._control("enroll_in_flow", ControlRequest(
                flow_id=target, contact_id=self._input.contact_id, signal="enroll",
                enrollment_id=self._key(step, visit)), step)
            return f"start {target}: {outcome.result}"
        other = await workflow.execute_activity(
            "published_flow", FlowRequest(flow_id=target), result_type=Flow,
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=CHANGE_RETRY,
            summary=f"load flow {target}")
        child_id = journey_workflow_id(other.id, self._input.contact_id, other.re_entry,
                                       self._key(step, visit))
        if workflow.patched("journey-index-sub-flow"):
            # Indexed before it starts, so events reach it and its own end lands after.
            await self._record_in_index(False, workflow_id=child_id, flow_id=other.id,
                                        flow_version=other.version,
                                        enrollment_id=self._key(step, visit))
        try:
            # Found and controlled like any journey of that flow: same search attributes,
            # same re-entry rule.
            result = await workflow.execute_child_workflow(
                "JourneyWorkflow", JourneyInput(flow=other, contact_id=self._input.contact_id,
                                                enrollment_id=self._key(step, visit)),
                id=child_id, result_type=JourneyState,
                id_reuse_policy=REUSE_POLICIES[other.re_entry],
                search_attributes=sa.initial(other.id, other.version, self._input.contact_id,
                                             other.steps[0].id),
                static_summary=f"{other.id} for {self._input.contact_id}")
        except ChildWorkflowError as exc:
            return f"start {target}: the sub-flow failed ({exc.cause})"
        except WorkflowAlreadyStartedError:
            # Already running under that id: the contact is in that flow; this journey
            # cannot wait on a journey it did not start, so it goes on.
            return f"start {target}: already in that flow"
        return f"sub-flow {target} {result.status.value}"

    async def _control_other_flow(self, step: Step, signal: str) -> str:
        target = step.flow_id or self._input.flow.id
        outcome = await self._control("control_journey", ControlRequest(
            flow_id=target, contact_id=self._input.contact_id, signal=signal,
            reason=f"{self._input.flow.id}/{step.id}"), step)
        return f"{signal} {target}: {outcome.result}"

    async def _control(self, activity: str, request: ControlRequest, step: Step) -> ControlOutcome:
        try:
            return await workflow.execute_activity(
                activity, request, result_type=ControlOutcome,
                start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=CHANGE_RETRY,
                summary=step.describe())
        except ActivityError as exc:
            if isinstance(exc.cause, ApplicationError) and exc.cause.type in FINAL_ACTION_ERRORS:
                return ControlOutcome(result=f"failed: {exc.cause.message}")
            raise

    async def _change_tag(self, step: Step, key: str, event_type: EventType, tag: str) -> None:
        await workflow.execute_activity(
            "change_contact", ContactChangeRequest(
                idempotency_key=key, contact_id=self._input.contact_id,
                event_type=event_type, payload={"tag": tag}),
            start_to_close_timeout=ACTIVITY_TIMEOUT, summary=step.describe())

    def _action_request(self, step: Step, visit: int) -> ActionRequest:
        return ActionRequest(
            idempotency_key=self._key(step, visit), journey_id=workflow.info().workflow_id,
            flow_id=self._input.flow.id, step_id=step.id, contact_id=self._input.contact_id,
            step=step.model_dump(mode="json"))

    async def _action(self, activity_name: str, step: Step, visit: int,
                      retry: RetryPolicy) -> ActionOutcome:
        outcome = await self._run_action(activity_name, step, visit, retry)
        self._action_result = (outcome.status, outcome.reason_code)
        return outcome

    async def _run_action(self, activity_name: str, step: Step, visit: int,
                          retry: RetryPolicy) -> ActionOutcome:
        try:
            return await workflow.execute_activity(
                activity_name, self._action_request(step, visit), result_type=ActionOutcome,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=SEND_SCHEDULE_TIMEOUT, retry_policy=retry,
                summary=step.describe())
        except ActivityError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type in FINAL_ACTION_ERRORS:
                return ActionOutcome(status="failed", reason=cause.message, reason_code=cause.type)
            if isinstance(cause, ActivityTimedOut):
                return ActionOutcome(status="failed", reason="gave up after a day of retries",
                                     reason_code="gave_up")
            raise

    async def _send(self, activity_name: str, request, step: Step) -> SendOutcome:
        outcome = await self._send_once(activity_name, request, step)
        # Kept for the step report only; workflow code never branches on it.
        self._action_result = (outcome.status, outcome.reason_code)
        return outcome

    async def _send_once(self, activity_name: str, request, step: Step) -> SendOutcome:
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
