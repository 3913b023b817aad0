"""What crosses the Temporal boundary for one journey: its input, state and ids.

One input model per workflow so fields can be added without breaking stored histories.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from domain.events import ContactEvent
from domain.flow import Flow, ReEntry

# Started by name, so the router needs no import of the workflow code.
JOURNEY_WORKFLOW = "JourneyWorkflow"


class JourneyStatus(StrEnum):
    RUNNING = "running"
    WAITING = "waiting"
    PAUSED = "paused"
    COMPLETED = "completed"
    EXITED = "exited"
    CONVERTED = "converted"


ENDED = frozenset({JourneyStatus.COMPLETED, JourneyStatus.EXITED, JourneyStatus.CONVERTED})


class StepVisit(BaseModel):
    step_id: str
    visit: int
    outcome: str
    at: datetime | None = Field(default=None, description="workflow time the step ended")
    code: str | None = Field(
        default=None,
        description="The outcome, machine-readable: sent, "
        "done, skipped:<reason>, failed:<reason>, exited[:<reason>], "
        "waited, received, timed_out, branched, goal_met, converted, "
        "migrated... None on visits recorded before codes existed.",
    )


class WaitMark(BaseModel):
    """The wait a journey is in, by absolute deadline: after continue-as-new the new run
    resumes the same wait for what is left of it instead of starting it again."""

    step_id: str
    visit: int
    phase: Literal["when", "window", "step"]
    until: datetime | None = None
    started_at: datetime


class EventMark(BaseModel):
    """An event this journey has received, as wait-for-event steps need it."""

    event_id: str
    name: str = Field(description="The event type, or a custom event's name.")
    received_at: datetime


class Conversion(BaseModel):
    goal_step: str
    attributed_step: str | None = Field(description="The last step the contact reached.")
    at: datetime


# Visits a journey keeps in its trail (the newest): bounds the state carried across runs.
TRAIL_LIMIT = 200


class JourneyState(BaseModel):
    """Carried across continue-as-new, so it must hold everything the journey remembers."""

    status: JourneyStatus = JourneyStatus.RUNNING
    current_step: str | None = None
    visits: dict[str, int] = Field(default_factory=dict)
    trail: list[StepVisit] = Field(default_factory=list)
    events_seen: int = 0
    exit_reason: str | None = None
    timers_fired: int = 0
    timer_marks: dict[str, int] = Field(
        default_factory=dict,
        description="step -> timers_fired " "at its last visit (guards against waitless loops)",
    )
    # Below: carried across continue-as-new (engine v2 journeys).
    current_visit: int | None = Field(
        default=None,
        description="Set while a step runs, so a "
        "new run resumes it without counting a new visit.",
    )
    wait: WaitMark | None = None
    seen_event_ids: list[str] = Field(default_factory=list)
    inbox: list[ContactEvent] = Field(
        default_factory=list,
        description="Received, not yet " "looked at by goals and wait-for-event steps.",
    )
    recent_events: list[EventMark] = Field(default_factory=list)
    paused: bool = False
    skip_next: bool = Field(
        default=False,
        description="A wait ran out while paused and the "
        "flow skips what it held: the next step is skipped.",
    )
    stop_reason: str | None = None
    conversion: Conversion | None = None
    runs: int = Field(default=1, description="Workflow runs so far (1 + continue-as-news).")


class JourneyInput(BaseModel):
    flow: Flow
    contact_id: str
    enrollment_id: str = Field(
        description="Stable per enrollment (the trigger event id, or a manual enrollment id); "
        "part of every idempotency key so a re-entered contact gets fresh sends."
    )
    trigger_event: ContactEvent | None = None
    state: JourneyState | None = None
    local_sends: list[Literal["email", "sms"]] = Field(
        default_factory=list,
        description="Channels whose sends the embedded outbox delivers "
        "(no provider, no pace): a retry is exact, so the journey runs them as local "
        "activities. Set by whoever starts the journey, from its settings; carried to "
        "children and continued runs. Empty (every older journey): regular activities.",
    )


class JourneyIndexRequest(BaseModel):
    """A journey telling the journey index that it starts (a sub-flow's child journey) or
    has ended, so the router signals exactly the journeys that still run."""

    workflow_id: str
    contact_id: str
    flow_id: str
    flow_version: int
    enrollment_id: str
    ended: bool = False
    migrated_from: int | None = Field(
        default=None,
        description="Set when the journey moves "
        "from this version to `flow_version` (a migration).",
    )
    current_step: str | None = Field(
        default=None,
        description="With `migrated_from`: the " "step of `flow_version` the journey continues at.",
    )
    status: str | None = Field(
        default=None,
        description="With `ended`: how the journey "
        "ended (completed, exited, converted, failed...).",
    )


# Re-entry as Temporal's id reuse policy (may a closed journey's id start again?):
# "never" refuses a second journey under the same id even after the first closed;
# "after_exit" allows one once it has; "always" gives every enrollment an id of its own
# (journey_workflow_id), so the same enrollment must never start twice.
REUSE_POLICIES = {
    ReEntry.NEVER: WorkflowIDReusePolicy.REJECT_DUPLICATE,
    ReEntry.AFTER_EXIT: WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    ReEntry.ALWAYS: WorkflowIDReusePolicy.REJECT_DUPLICATE,
}


def conflict_policy(with_event: bool) -> WorkflowIDConflictPolicy:
    """And as its id conflict policy (what if that journey is running right now?). With
    an event, whatever the re-entry rule, the running journey gets it (signal-with-start),
    so a concurrent duplicate never makes two journeys. Without one (manual enrollment,
    backfill, start_flow) the start fails, which reports "already in this flow"."""
    return WorkflowIDConflictPolicy.USE_EXISTING if with_event else WorkflowIDConflictPolicy.FAIL


def journey_workflow_id(
    flow_id: str,
    contact_id: str,
    re_entry: ReEntry = ReEntry.NEVER,
    enrollment_id: str | None = None,
) -> str:
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
