"""What every step has: identity, where to go next, "when to run", an optional
condition with its on-false behaviour, and (for mailing chains) an audience."""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NaiveDatetime

from domain.conditions import Condition
from domain.durations import Duration
from domain.identifiers import StepId


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class When(Model):
    """When to run: immediately (nothing set), after a delay, at a date-time, or at a
    wall-clock date-time in the contact's own time zone (`local_at`, no offset) [003]."""

    delay: Duration | None = None
    at: AwareDatetime | None = None
    local_at: NaiveDatetime | None = None

    def given(self) -> list[str]:
        return [name for name in ("delay", "at", "local_at") if getattr(self, name) is not None]


class Audience(Model):
    """Mailing-chain audience: everyone who reached this step, or only those matching terms
    (e.g. opened the previous email, unsubscribed from email)."""

    who: Literal["everyone", "matching"] = "everyone"
    terms: Condition | None = None


class StepBase(Model):
    if TYPE_CHECKING:
        kind: str  # each kind narrows it to a Literal, the union's discriminator
    id: StepId
    name: str | None = None
    next: StepId | None = None
    when: When | None = None
    run_if: Condition | None = Field(
        default=None, description="Run the step only if this holds for the contact."
    )
    on_false: Literal["skip", "exit", "branch"] = Field(
        default="skip",
        description="What a contact who fails `run_if` does: skip this "
        "step, exit the flow, or go to `false_next`.",
    )
    false_next: StepId | None = None
    audience: Audience | None = None

    def describe(self) -> str:
        return self.name or f"{self.kind} {self.id}"

    def references(self) -> dict[str, str | None]:
        """Every field that names another step, for validation and reachability."""
        return {"next": self.next, "false_next": self.false_next}


class TimeOfDay(Model):
    """A wall-clock time in the contact's zone, optionally only on some weekdays."""

    at: time
    weekdays: list[Weekday] = Field(default_factory=lambda: list(Weekday))
