"""Flow documents: a trigger, entry rules and a list of steps.

Step settings are lenient on purpose (empty defaults) so that a draft with missing
settings can still be saved; `domain.validation` reports what publishing requires.
Control flow: a step goes to `next` if given, otherwise to the step after it in the
list; the last step falls through to the end of the journey.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.conditions import Condition, compare
from domain.evaluation import at_path
from domain.identifiers import FlowId
from domain.predicates import AttributeOperator
from domain.scheduling import FlowSchedule
from domain.steps import Step
from domain.steps.flow_control import Exit, Goal


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PropertyFilter(_Model):
    """A test on the triggering event's own payload, e.g. form_id = newsletter."""

    path: str = Field(default="", description="Dot path into the payload, e.g. 'fields.plan'.")
    op: AttributeOperator = "eq"
    value: Any = None

    def holds(self, payload: dict[str, Any]) -> bool:
        return compare(at_path(payload, self.path), self.op, self.value)


class Trigger(_Model):
    """An event type, filters on that event's payload (`where`, combined by `match`), and
    filters on the contact (`condition`: combine with all / any / not at any depth)."""

    event: str
    where: list[PropertyFilter] = Field(default_factory=list)
    match: Literal["all", "any"] = "all"
    condition: Condition | None = None

    def matches_event(self, event_type: str, payload: dict[str, Any]) -> bool:
        if event_type != self.event:
            return False
        if not self.where:
            return True
        results = (f.holds(payload) for f in self.where)
        return all(results) if self.match == "all" else any(results)


class ReEntry(StrEnum):
    NEVER = "never"
    AFTER_EXIT = "after_exit"
    ALWAYS = "always"


class Enrollment(_Model):
    existing_contacts: bool = Field(
        default=False,
        description="On publish, also enroll contacts "
        "who already match the trigger's filters (a backfill).",
    )
    allow_manual: bool = Field(
        default=True,
        description="Allow manual enrollment, which "
        "bypasses the trigger's filters (for testing) [004].",
    )


class FlowStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    PAUSED = "paused"
    ARCHIVED = "archived"


class Flow(_Model):
    id: FlowId
    name: str = ""
    description: str | None = None
    version: int = Field(default=0, ge=0, description="Assigned on publish; 0 for drafts.")
    trigger: Trigger
    re_entry: ReEntry = ReEntry.NEVER
    enrollment: Enrollment = Field(default_factory=Enrollment)
    steps: list[Step] = Field(min_length=1)
    schedule: FlowSchedule | None = Field(
        default=None,
        description="Time zone default and " "send window (quiet hours, weekdays) [003].",
    )
    transactional: bool = Field(
        default=False,
        description="Receipts, password resets, notices: its messages are "
        "exempt from frequency caps (DRIPSTONE_FREQUENCY_CAPS).",
    )
    holdout_percent: float = Field(
        default=0,
        ge=0,
        lt=100,
        description="Share of enrolled contacts kept as a control "
        "group (chosen by a hash of flow and contact): their journeys run but send them no "
        "email, SMS or call; their conversions still count, so the flow's lift is reported.",
    )
    expired_while_paused: Literal["fire", "skip"] = Field(
        default="fire",
        description="A contact paused while a timer ran out: on resume, run "
        "the step the timer held (fire) or skip that step (skip).",
    )
    published_at: datetime | None = None

    def goals(self) -> list[Goal]:
        return [step for step in self.steps if isinstance(step, Goal)]

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def following(self, step: Step) -> str | None:
        """Where control goes after `step` when nothing else redirects it."""
        if step.next is not None:
            return step.next
        index = next(i for i, s in enumerate(self.steps) if s.id == step.id)
        return self.steps[index + 1].id if index + 1 < len(self.steps) else None

    def successors(self, step: Step) -> list[str]:
        """Every step control can reach directly from `step`: its own targets (a branch's
        then/otherwise, a split's paths...), each falling through when left empty, or
        simply the following step; plus where a failed `run_if` leads (skip: the following
        step; branch: `false_next`)."""
        ends = isinstance(step, Exit) or (isinstance(step, Goal) and step.exit_on_reach)
        after = None if ends else self.following(step)
        own = {f: t for f, t in step.references().items() if f not in ("next", "false_next")}
        targets = [target or after for target in own.values()] if own else [after]
        if step.run_if is not None and step.on_false == "branch":
            targets.append(step.false_next or self.following(step))
        elif step.run_if is not None and step.on_false == "skip":
            targets.append(self.following(step))
        return [t for t in dict.fromkeys(targets) if t is not None]
