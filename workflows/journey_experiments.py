"""Experiment steps and holdouts inside a journey (a mixin of JourneyWorkflow).

The variant comes from an activity (it reads whether the experiment is decided); its
answer is in the history, so a replay sends the same variant. The message then goes out
through the ordinary email / SMS path under the experiment step's own id and key. A
holdout contact is told apart by a pure hash of flow and contact, so it needs no call."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.experiments.assignment import in_holdout
    from domain.experiments.contract import VariantChoice, VariantRequest
    from domain.journey import JourneyInput
    from domain.step_table import STEP_TABLE, spec
    from domain.steps import Step
    from domain.steps.experiments import Experiment
    from workflows.journey_patches import JourneyPatches
    from workflows.journey_steps import Next

# What a holdout contact does not get: anything sent to the contact (the kinds quiet
# hours hold). Team notifications, webhooks and contact changes still run, so the
# journey's path stays the same.
HELD_BACK_STEPS = frozenset(kind for kind, entry in STEP_TABLE.items() if entry.quiet_hours)


class JourneyExperiments(JourneyPatches):
    _input: JourneyInput
    _code: str | None

    def _held_out(self, step: Step) -> bool:
        flow = self._input.flow
        # Only flows with a holdout ask the patch, so older histories never meet it.
        return (
            flow.holdout_percent > 0
            and step.kind in HELD_BACK_STEPS
            and self.patched("flow-holdout")
            and in_holdout(flow.id, self._input.contact_id, flow.holdout_percent)
        )

    async def _experiment(self, step: Experiment, visit: int) -> Next:
        flow = self._input.flow
        choice = await self._call(  # type: ignore[attr-defined]
            spec(step.kind).call,
            VariantRequest(
                flow_id=flow.id,
                flow_version=flow.version,
                step_id=step.id,
                contact_id=self._input.contact_id,
                journey_id=workflow.info().workflow_id,
                message_key=self._key(step, visit),
                step=step.model_dump(mode="json"),
            ),
            f"variant for {step.describe()}",
            VariantChoice,
        )
        variant = step.variant(choice.variant)
        if variant is None:  # the activity answers with one of this step's variants
            self._code = "skipped:unknown_variant"
            return f"variant {choice.variant} unknown to this version: skipped", flow.following(
                step
            )
        outcome, target = await self._execute(step.message(variant), visit)
        label = "winner" if choice.phase == "winner" else "variant"
        return f"{label} {variant.name}: {outcome}", target
