"""What crosses the Temporal boundary for one journey: its input, state and ids.

One input model per workflow so fields can be added without breaking stored histories.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.events import ContactEvent
from domain.flow import Flow, ReEntry


class JourneyStatus(StrEnum):
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    EXITED = "exited"


class StepVisit(BaseModel):
    step_id: str
    visit: int
    outcome: str


class JourneyState(BaseModel):
    """Carried across continue-as-new, so it must hold everything the journey remembers."""

    status: JourneyStatus = JourneyStatus.RUNNING
    current_step: str | None = None
    visits: dict[str, int] = Field(default_factory=dict)
    trail: list[StepVisit] = Field(default_factory=list)
    events_seen: int = 0
    exit_reason: str | None = None
    timers_fired: int = 0
    timer_marks: dict[str, int] = Field(default_factory=dict, description="step -> timers_fired "
                                        "at its last visit (guards against waitless loops)")


class JourneyInput(BaseModel):
    flow: Flow
    contact_id: str
    enrollment_id: str = Field(
        description="Stable per enrollment (the trigger event id, or a manual enrollment id); "
        "part of every idempotency key so a re-entered contact gets fresh sends."
    )
    trigger_event: ContactEvent | None = None
    state: JourneyState | None = None


def journey_workflow_id(flow_id: str, contact_id: str, re_entry: ReEntry = ReEntry.NEVER,
                        enrollment_id: str | None = None) -> str:
    """Readable and deterministic; only 'always' re-entry needs a per-enrollment suffix,
    because it lets one contact run the same flow several times at once."""
    base = f"journey/{flow_id}/{contact_id}"
    if re_entry == ReEntry.ALWAYS and enrollment_id:
        return f"{base}/{enrollment_id}"
    return base


MAX_KEY_LENGTH = 400  # the ledger's column


def idempotency_key(workflow_id: str, enrollment_id: str, step_id: str, visit: int) -> str:
    """Readable when it fits; long ids are folded into a digest so the key stays unique
    and within the ledger column."""
    key = f"{workflow_id}/{enrollment_id}/{step_id}/{visit}"
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[:MAX_KEY_LENGTH - len(digest) - 1]}#{digest}"
