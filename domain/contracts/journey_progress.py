"""What a journey tells the database about itself in one go: the steps it has left since
it last reported, and, at its end, that it ended. Batched so a journey's short steps
(local activities) do not each add a report of their own; sent before anything that
makes the journey wait, so analytics and the index never lag behind a waiting journey."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.journey import JourneyIndexRequest
from domain.step_outcomes import StepReport


class JourneyProgress(BaseModel):
    steps: list[StepReport] = Field(
        default_factory=list, description="The visits ended since the last report, in order."
    )
    end: JourneyIndexRequest | None = Field(
        default=None, description="Set once the journey ends: its index row is ended with it."
    )
