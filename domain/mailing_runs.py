"""What MailingWorkflow and its activities pass each other. Pure and dependency-light, so
the workflow sandbox imports it as it is.

No recipient appears here: the workflow carries the document, cursors and counts, and
the activities read and write recipients in the database. A mailing to a million
contacts keeps a history of a few thousand events, none with an address in it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from domain.mailing import Mailing

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

    def add(self, result: "SendBatchResult") -> None:
        self.sent += result.sent
        self.failed += result.failed
        for reason, count in result.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count


class MailingRunInput(BaseModel):
    """The whole state of a run; continue-as-new hands it to the next run as it is."""

    mailing: Mailing
    step_index: int = 0
    phase: Phase = "wait"
    cursor: str | None = None  # the selection's keyset position within the step
    previous_finished_at: datetime | None = None  # what a later step's delay counts from
    totals: dict[str, StepTotals] = Field(default_factory=dict)
    paused: bool = False


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


class SendBatchRequest(BaseModel):
    mailing_id: str
    step_id: str
    now: datetime  # recipients due at or before this are sent
    limit: int = BATCH_SIZE


class SendBatchResult(BaseModel):
    sent: int = 0
    skipped: dict[str, int] = Field(default_factory=dict)
    failed: int = 0
    duplicates: int = 0  # already sent by an earlier attempt (kept in `sent` too)
    remaining_due: int = 0  # still pending and due now: send another batch at once
    next_due_at: datetime | None = None  # the earliest later send time, if any


MailingAction = Literal["start", "finish", "step"]


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
