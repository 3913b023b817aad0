"""Steps that act on flows (a mixin of JourneyWorkflow): start another flow, as a child
journey this one waits for or through the router, and pause or stop the contact's
journey in another flow."""

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from domain.contracts.actions import ControlOutcome, ControlRequest, FlowRequest
    from domain.flow import Flow
    from domain.journey import REUSE_POLICIES, JourneyInput, JourneyState, journey_workflow_id
    from domain.step_outcomes import StepOutcome
    from domain.step_table import LOAD_FLOW
    from domain.steps import Step
    from domain.steps.flow_control import StartFlow
    from workflows import search_attributes as sa
    from workflows.journey_progress import JourneyProgressReports


class JourneyFlowControl(JourneyProgressReports):
    """Runs with JourneySteps (_act, _call, _coded, _note) in JourneyWorkflow."""

    _input: JourneyInput
    _state: JourneyState

    async def _start_flow(self, step: StartFlow, visit: int) -> str:
        """Add the contact to another flow: as a child journey this one waits for, or
        through the router like any enrollment (fire and forget)."""
        target = step.flow_id or ""
        if not step.wait_for_completion:
            outcome = await self._act(
                step,
                ControlRequest(
                    flow_id=target,
                    contact_id=self._input.contact_id,
                    signal="enroll",
                    enrollment_id=self._key(step, visit),
                ),
                ControlOutcome,
            )
            return self._controlled(f"start {target}", outcome)
        other = await self._call(
            LOAD_FLOW, FlowRequest(flow_id=target), f"load flow {target}", Flow
        )
        child_id = journey_workflow_id(
            other.id, self._input.contact_id, other.re_entry, self._key(step, visit)
        )
        await self._flush_progress()  # it may wait on the sub-flow for long
        if self.patched("journey-index-sub-flow"):
            # Indexed before it starts, so events reach it and its own end lands after.
            await self._record_in_index(
                False,
                workflow_id=child_id,
                flow_id=other.id,
                flow_version=other.version,
                enrollment_id=self._key(step, visit),
            )
        try:
            # Found and controlled like any journey of that flow: same search attributes,
            # same re-entry rule.
            result = await workflow.execute_child_workflow(
                "JourneyWorkflow",
                JourneyInput(
                    flow=other,
                    contact_id=self._input.contact_id,
                    enrollment_id=self._key(step, visit),
                    local_sends=self._input.local_sends,
                ),
                id=child_id,
                result_type=JourneyState,
                id_reuse_policy=REUSE_POLICIES[other.re_entry],
                search_attributes=sa.initial(
                    other.id, other.version, self._input.contact_id, other.steps[0].id
                ),
                static_summary=f"{other.id} for {self._input.contact_id}",
            )
        except ChildWorkflowError as exc:
            return self._coded(
                "failed:sub_flow", f"start {target}: the sub-flow failed ({exc.cause})"
            )
        except WorkflowAlreadyStartedError:
            # Already running under that id: the contact is in that flow; this journey
            # cannot wait on a journey it did not start, so it goes on.
            return self._coded("skipped:already_in_flow", f"start {target}: already in that flow")
        return self._coded("done", f"sub-flow {target} {result.status.value}")

    async def _control_other_flow(self, step: Step, signal: str) -> str:
        target = step.flow_id or self._input.flow.id
        outcome = await self._act(
            step,
            ControlRequest(
                flow_id=target,
                contact_id=self._input.contact_id,
                signal=signal,
                reason=f"{self._input.flow.id}/{step.id}",
            ),
            ControlOutcome,
        )
        return self._controlled(f"{signal} {target}", outcome)

    def _controlled(self, what: str, outcome: StepOutcome) -> str:
        self._note(outcome)
        return f"{what}: " + (
            f"failed: {outcome.reason}" if outcome.status == "failed" else outcome.reason or "done"
        )
