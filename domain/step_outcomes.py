"""What one journey reports after each step it leaves, and how per-step analytics read it.

Pure: the report crosses the Temporal boundary (the workflow builds it, an activity
records it) and the classification runs in the projection, so the rules that turn an
outcome into "completed / skipped for a reason / exited / failed" can be refined without
touching workflow code or its histories."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

StepResult = Literal["completed", "skipped", "exited", "failed", "interrupted"]
STEP_RESULTS: tuple[str, ...] = StepResult.__args__  # type: ignore[attr-defined]

# Why a step was skipped, as counted per step. The first four are the interpreter's own
# (workflows/journey.py, workflows/journey_experiments.py); the rest are a send's or
# action's reason_code (unsubscribed_topic: the contact left the message's topic on
# that channel, activities/messaging.py).
SKIP_REASONS = (
    "expired_while_paused",
    "not_in_audience",
    "condition_not_met",
    "holdout",
    "no_address",
    "suppressed",
    "unsubscribed_topic",
    "frequency_cap",
    "merge_value",
)
# The trail's outcome of a message step a holdout contact does not get.
HELD_OUT = "held out: no message (holdout)"


class StepOutcome(BaseModel):
    """What one step's call came to, whichever activity ran it (a send, a contact change,
    a call-out, an action on another flow): the journey reads only this."""

    status: Literal["sent", "done", "skipped", "failed"]
    reason: str | None = None
    reason_code: str | None = Field(
        default=None,
        description="Machine-readable; the "
        "journey branches on it (no_address, merge_value), "
        "never on the text.",
    )

    def code(self) -> str:
        """The trail's outcome code: sent, done, skipped:<reason>, failed:<reason>."""
        if self.status in ("sent", "done"):
            return self.status
        return f"{self.status}:{self.reason_code or 'other'}"


class StepReport(BaseModel):
    """One visit of one step, as the journey leaves it. Idempotent by (workflow id,
    enrollment, step, visit): a retried local activity writes the same row."""

    workflow_id: str
    enrollment_id: str
    flow_id: str
    flow_version: int
    contact_id: str
    step_id: str
    kind: str
    visit: int
    message_key: str = Field(
        description="The step's idempotency key: a send's ledger and "
        "provider key, so its delivery, opens and clicks find it."
    )
    outcome: str = Field(description="The trail's outcome text.")
    action_status: str | None = Field(
        default=None,
        description="A send's or action's own "
        "status (sent, done, skipped, failed), when it ran one.",
    )
    reason_code: str | None = None
    next_step: str | None = Field(description="Where the journey goes next (None: it ends).")
    at: datetime = Field(description="Workflow time the step ended.")


def classify(
    kind: str, outcome: str, action_status: str | None, reason_code: str | None
) -> tuple[StepResult, str | None]:
    """(result, reason) of one visit. Reason is set for skipped, exited and failed."""
    if outcome == "interrupted":
        return "interrupted", None
    if outcome.startswith("skipped: its time passed while paused"):
        return "skipped", "expired_while_paused"
    if outcome == "not in the step's audience: skipped":
        return "skipped", "not_in_audience"
    if outcome == HELD_OUT:
        return "skipped", "holdout"
    if outcome.startswith("condition not met: "):  # skipped, or branched past the action
        return "skipped", "condition_not_met"
    if kind == "exit":
        return "completed", None  # an exit step that exits has done its job
    if outcome.startswith("exited: condition of step"):
        return "exited", "condition_not_met"
    if outcome.startswith("exited"):
        return "exited", reason_code or "exited"
    if action_status == "skipped":
        return "skipped", reason_code or "other"
    if action_status == "failed":
        return "failed", reason_code or "other"
    return "completed", None
