"""Flow documents: a trigger plus a list of steps, each a discriminated union on `kind`.

Step settings are lenient on purpose (empty defaults) so that a draft with missing
settings can still be saved; `domain.validation` reports what publishing requires.
Control flow: a step goes to `next` if given, otherwise to the step after it in the
list; the last step falls through to the end of the journey.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.conditions import Condition
from domain.durations import Duration
from domain.identifiers import FlowId, StepId


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepBase(_Model):
    id: StepId
    name: str | None = None
    next: StepId | None = None

    def describe(self) -> str:
        return self.name or f"{self.kind} {self.id}"  # type: ignore[attr-defined]


class SendEmail(StepBase):
    kind: Literal["send_email"] = "send_email"
    subject: str = ""
    body: str = ""
    from_email: str | None = None


class SendSms(StepBase):
    kind: Literal["send_sms"] = "send_sms"
    text: str = ""
    sender: str | None = None
    if_no_phone: Literal["skip", "exit"] = "skip"


class AddTag(StepBase):
    kind: Literal["add_tag"] = "add_tag"
    tag: str = ""


class RemoveTag(StepBase):
    kind: Literal["remove_tag"] = "remove_tag"
    tag: str = ""


class Wait(StepBase):
    """Either a relative delay or an absolute moment; exactly one must be given."""

    kind: Literal["wait"] = "wait"
    delay: Duration | None = None
    until: AwareDatetime | None = None


class Branch(StepBase):
    """`then` / `otherwise` name the step to go to; None continues with `next`."""

    kind: Literal["branch"] = "branch"
    condition: Condition | None = None
    then: StepId | None = None
    otherwise: StepId | None = None


class Exit(StepBase):
    kind: Literal["exit"] = "exit"
    reason: str | None = None


Step = Annotated[
    Union[SendEmail, SendSms, AddTag, RemoveTag, Wait, Branch, Exit],
    Field(discriminator="kind"),
]


class Trigger(_Model):
    event: str
    condition: Condition | None = None


class ReEntry(StrEnum):
    NEVER = "never"
    AFTER_EXIT = "after_exit"
    ALWAYS = "always"


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
    steps: list[Step] = Field(min_length=1)
    published_at: datetime | None = None

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
        if isinstance(step, Exit):
            return []
        after = self.following(step)
        if isinstance(step, Branch):
            targets = [step.then or after, step.otherwise or after]
            return [t for t in dict.fromkeys(targets) if t is not None]
        return [after] if after is not None else []
