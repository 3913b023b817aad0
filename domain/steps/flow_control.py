"""Flow-control steps: waits, branches, splits, goals, other flows, exit."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from domain.conditions import Condition
from domain.durations import Duration
from domain.identifiers import FlowId, StepId
from domain.steps.base import Model, StepBase, TimeOfDay


class Wait(StepBase):
    """Exactly one of: a delay, an absolute moment, or a time of day in the contact's
    zone (on allowed weekdays)."""

    kind: Literal["wait"] = "wait"
    delay: Duration | None = None
    until: AwareDatetime | None = None
    time_of_day: TimeOfDay | None = None


class WaitForEvent(StepBase):
    """ "Wait 1 day or until a reply is received": two exits, event or timeout [004]."""

    kind: Literal["wait_for_event"] = "wait_for_event"
    event: str = ""
    matching: Condition | None = Field(
        default=None,
        description="Only events for which the " "contact then matches this condition count.",
    )
    timeout: Duration | None = None
    on_event: StepId | None = None
    on_timeout: StepId | None = None
    count_earlier_events: bool = Field(
        default=False,
        description="Whether an event that " "arrived before the wait started satisfies it.",
    )

    def references(self) -> dict[str, str | None]:
        return {**super().references(), "on_event": self.on_event, "on_timeout": self.on_timeout}


class Branch(StepBase):
    """If/else. `then` / `otherwise` name the step to go to; None continues with `next`."""

    kind: Literal["branch"] = "branch"
    condition: Condition | None = None
    then: StepId | None = None
    otherwise: StepId | None = None

    def references(self) -> dict[str, str | None]:
        return {**super().references(), "then": self.then, "otherwise": self.otherwise}


class BranchPath(Model):
    name: str | None = None
    condition: Condition | None = None
    goto: StepId | None = None


class MultiBranch(StepBase):
    """First matching path wins; `otherwise` (or `next`) takes everyone else."""

    kind: Literal["multi_branch"] = "multi_branch"
    paths: list[BranchPath] = Field(default_factory=list)
    otherwise: StepId | None = None

    def references(self) -> dict[str, str | None]:
        refs = {**super().references(), "otherwise": self.otherwise}
        refs.update({f"paths.{i}.goto": p.goto for i, p in enumerate(self.paths)})
        return refs


class SplitPath(Model):
    name: str | None = None
    percent: float = Field(default=0, ge=0, le=100)
    goto: StepId | None = None


class RandomSplit(StepBase):
    """A/B (or more) split by percentage; the draw uses workflow.random() so it replays."""

    kind: Literal["split"] = "split"
    paths: list[SplitPath] = Field(default_factory=list)

    def references(self) -> dict[str, str | None]:
        return {
            **super().references(),
            **{f"paths.{i}.goto": p.goto for i, p in enumerate(self.paths)},
        }


class Goal(StepBase):
    """Checked whenever an event reaches the journey: once the condition holds, the contact
    jumps here and exits as converted (or continues with `next` if given) [003]."""

    kind: Literal["goal"] = "goal"
    goal: Condition | None = None
    exit_on_reach: bool = True


class StartFlow(StepBase):
    """Add the contact to another flow (start a follow-up); optionally wait for it to end."""

    kind: Literal["start_flow"] = "start_flow"
    flow_id: FlowId | None = None
    wait_for_completion: bool = False


class StopFlow(StepBase):
    """Remove the contact from another flow (stop a follow-up)."""

    kind: Literal["stop_flow"] = "stop_flow"
    flow_id: FlowId | None = None


class PauseFlow(StepBase):
    """Pause or unpause the contact in another flow."""

    kind: Literal["pause_flow"] = "pause_flow"
    flow_id: FlowId | None = None
    action: Literal["pause", "unpause"] = "pause"


class Exit(StepBase):
    kind: Literal["exit"] = "exit"
    reason: str | None = None


FLOW_CONTROL_STEPS = (
    Wait,
    WaitForEvent,
    Branch,
    MultiBranch,
    RandomSplit,
    Goal,
    StartFlow,
    StopFlow,
    PauseFlow,
    Exit,
)
