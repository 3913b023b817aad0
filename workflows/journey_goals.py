"""Goals inside a journey (a mixin of JourneyWorkflow): a goal step the flow reaches in
order, and a conversion, attributed once per enrollment to the last step reached [003]."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.contracts.contact_changes import ContactChangeOutcome, ContactChangeRequest
    from domain.events import EventType
    from domain.journey import (
        TRAIL_LIMIT,
        Conversion,
        JourneyInput,
        JourneyState,
        JourneyStatus,
        StepVisit,
    )
    from domain.step_table import CONTACT_EVENT
    from domain.steps.flow_control import Goal
    from workflows.journey_own_changes import JourneyOwnChanges
    from workflows.journey_steps import Next


def _position(flow, step_id: str) -> int:
    # -1 for a step of the version a migrated journey left (its trail keeps them).
    return next((i for i, step in enumerate(flow.steps) if step.id == step_id), -1)


class JourneyGoals(JourneyOwnChanges):
    """Runs with JourneySteps (_call, _coded) and JourneyWaits (_holds) in JourneyWorkflow."""

    _input: JourneyInput
    _state: JourneyState
    _goal_hit: Goal | None

    async def _goal_reached_in_order(self, goal: Goal) -> Next:
        """Reached by the flow itself: a met (or condition-less) goal converts here.
        A contact converts once per enrollment, whatever goals come after."""
        if self._state.conversion is not None:
            return self._coded("goal_already_met", "goal already met"), self._input.flow.following(
                goal
            )
        if goal.goal is None or await self._holds(goal, goal.goal):
            self._goal_hit = goal
            return self._coded("goal_met", "goal met"), None
        return self._coded("goal_not_met", "goal not met yet"), self._input.flow.following(goal)

    async def _convert(self, goal: Goal, carry_on: str | None) -> str | None:
        """The contact met a goal: attributed once, to the last step reached [003]. Then it
        exits as converted, or goes on after the goal; a goal the contact has already
        passed does not send it back (that would run sent steps again): it carries on."""
        state = self._state
        self._goal_hit = None
        attributed = next((v.step_id for v in reversed(state.trail) if v.step_id != goal.id), None)
        state.conversion = Conversion(
            goal_step=goal.id, attributed_step=attributed, at=workflow.now()
        )
        # One event per enrollment (its id derives from this key), so a retry or a replay
        # never counts a conversion twice.
        request = ContactChangeRequest(
            idempotency_key=f"{self._key(goal, 0)}/converted",
            contact_id=self._input.contact_id,
            event_type=EventType.JOURNEY_CONVERTED,
            payload={
                "flow_id": self._input.flow.id,
                "flow_version": self._input.flow.version,
                "goal_step": goal.id,
                "step_id": attributed,
                "journey_id": workflow.info().workflow_id,
                "enrollment_id": self._input.enrollment_id,
            },
            origin=self._origin(),
        )
        done = await self._call(
            CONTACT_EVENT, request, f"conversion at {goal.describe()}", ContactChangeOutcome
        )
        if not goal.exit_on_reach:  # a journey that ends here has nothing left to hear
            self._hear_own(request, done)
        state.trail = (
            state.trail
            + [
                StepVisit(
                    step_id=goal.id,
                    visit=state.visits.get(goal.id, 0),
                    at=workflow.now(),
                    outcome=f"converted (attributed to {attributed})",
                    code="converted",
                )
            ]
        )[-TRAIL_LIMIT:]
        if goal.exit_on_reach:
            state.status = JourneyStatus.CONVERTED
            state.exit_reason = f"converted: goal {goal.id}"
            return None
        flow = self._input.flow
        ahead = attributed is None or _position(flow, goal.id) > _position(flow, attributed)
        return flow.following(goal) if ahead else carry_on
