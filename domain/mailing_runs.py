"""What MailingWorkflow and its activities pass each other. Pure and dependency-light, so
the workflow sandbox imports it as it is.

No recipient and no content appears here: the workflow carries the mailing's id and its
steps' timing, cursors and counts; the activities read the document (fixed once it left
draft) and the recipients from the database. A mailing to a million contacts keeps a
history of a few thousand events, none with an address, a listed contact or a condition
value in it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from domain.mailing import Mailing
from domain.steps.base import When

# Recipients per send activity: one ledger claim, one provider batch, one bulk record.
BATCH_SIZE = 1000
# Contacts examined per selection activity (keyset pages of the audience).
SELECT_PAGE = 5000

Phase = Literal["wait", "select", "send", "done"]


class StepTotals(BaseModel):
    selected: int = 0
    sent: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)
    failed: int = 0

    def add(self, result: SendBatchResult) -> None:
        self.sent += result.sent
        self.failed += result.failed
        for reason, count in result.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count

    def settle(self, counted: StepOutcomes) -> None:
        """The database's count replaces the running sum (see SendBatchResult.counted)."""
        self.sent, self.failed, self.skipped = counted.sent, counted.failed, dict(counted.skipped)


class StepTiming(BaseModel):
    id: str
    when: When | None = None


class MailingPlan(BaseModel):
    """What the workflow needs of the document: which steps, and when each one sends."""

    mailing_id: str
    steps: list[StepTiming]

    @classmethod
    def of(cls, mailing: Mailing) -> MailingPlan:
        return cls(
            mailing_id=mailing.id,
            steps=[StepTiming(id=step.id, when=step.when) for step in mailing.steps],
        )


class MailingRunInput(BaseModel):
    """The whole state of a run; continue-as-new hands it to the next run as it is."""

    plan: MailingPlan
    step_index: int = 0
    phase: Phase = "wait"
    cursor: str | None = None  # the selection's keyset position within the step
    previous_finished_at: datetime | None = None  # what a later step's delay counts from
    totals: dict[str, StepTotals] = Field(default_factory=dict)
    paused: bool = False
    cancelled: bool = False


class SelectRequest(BaseModel):
    mailing_id: str
    step_id: str
    after: str | None = None
    limit: int = SELECT_PAGE
    now: datetime  # the workflow's time: local send times are planned from it


class SelectResult(BaseModel):
    selected: int
    scanned: int
    next_after: str | None  # None when the audience was read to its end
    status: str | None = None  # the mailing's status in the catalogue: the workflow obeys it
    # The step's outcomes as the database holds them, counted once nothing is left to send:
    # an attempt that recorded its batch and then timed out has its result thrown away,
    # and its retry finds those recipients done, so summed batch results can fall short.
    counted: StepOutcomes | None = None


class SendBatchRequest(BaseModel):
    mailing_id: str
    step_id: str
    now: datetime  # recipients due at or before this are sent
    limit: int = BATCH_SIZE


class StepOutcomes(BaseModel):
    sent: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)
    failed: int = 0


class SendBatchResult(BaseModel):
    sent: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)
    failed: int = 0
    duplicates: int = 0  # already sent by an earlier attempt (kept in `sent` too)
    remaining_due: int = 0  # still pending and due now (up to a batch): send another at once
    next_due_at: datetime | None = None  # the earliest later send time, if any
    status: str | None = None  # the mailing's status in the catalogue: the workflow obeys it
    # The step's outcomes as the database holds them, counted once nothing is left to send:
    # an attempt that recorded its batch and then timed out has its result thrown away,
    # and its retry finds those recipients done, so summed batch results can fall short.
    counted: StepOutcomes | None = None


# check: only read the status (a paused workflow looks now and then, in case a resume or
# cancel reached the catalogue without reaching it).
MailingAction = Literal["start", "finish", "step", "check"]


class MailingTransition(BaseModel):
    mailing_id: str
    action: MailingAction
    step_id: str | None = None


class MailingProgress(BaseModel):
    mailing_id: str
    step_id: str | None
    phase: Phase
    paused: bool
    totals: dict[str, StepTotals]
