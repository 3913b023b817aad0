"""What crosses the Temporal boundary for an "enroll existing" backfill: its input (also
what continue-as-new carries, so a new run resumes at the cursor), its progress, the
activities' requests and results, and its deterministic ids."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from domain.flow import Flow

BackfillStatus = Literal["running", "completed", "cancelled"]


def backfill_workflow_id(flow_id: str, version: int) -> str:
    """One backfill per published version: starting it again finds the same workflow."""
    return f"backfill/{flow_id}/v{version}"


def backfill_enrollment_id(version: int) -> str:
    """The enrollment id of every journey a backfill starts (part of its messages'
    idempotency keys; with re_entry 'always' also of the journey's workflow id)."""
    return f"backfill-v{version}"


class BackfillInput(BaseModel):
    flow: Flow = Field(description="The published version to enroll contacts in.")
    rate_per_second: float = Field(gt=0, description="Enrollments started per second at most.")
    page_size: int = Field(default=200, ge=1, le=5000, description="Contacts examined per page.")
    cursor: str | None = Field(default=None, description="The last contact_id already handled.")
    scanned: int = 0
    enrolled: int = 0
    skipped: int = 0
    total: int | None = Field(
        default=None,
        description="The audience's size when counted at " "the start; None until counted.",
    )


class BackfillProgress(BaseModel):
    workflow_id: str
    flow_id: str
    version: int
    status: BackfillStatus
    scanned: int
    enrolled: int
    skipped: int = Field(description="Members that already had a journey (re-entry refused).")
    total: int | None
    cursor: str | None
    reason: str | None = Field(default=None, description="Why a backfill stopped early.")


FlowState = Literal["live", "paused", "gone"]


# Activities get the version by its key and read it from the catalogue (versions are
# immutable): a flow document in every page's request would swell the history.
class PageRequest(BaseModel):
    flow_id: str
    version: int
    after: str | None
    limit: int


class PageResult(BaseModel):
    flow_state: FlowState = Field(
        description="live: the page was enrolled; paused: nothing "
        "was done, try later; gone: archived or superseded, stop."
    )
    reason: str | None = None
    next_after: str | None = None
    scanned: int = 0
    enrolled: int = 0
    skipped: int = 0

    @property
    def attempted(self) -> int:
        return self.enrolled + self.skipped


class TotalRequest(BaseModel):
    flow_id: str
    version: int
    page_size: int
