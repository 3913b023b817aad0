"""plan_wake: when a step may run in the contact's own time zone (activities/scheduling.py)."""

from datetime import datetime

from pydantic import BaseModel, NaiveDatetime

from domain.scheduling import FlowSchedule
from domain.steps.base import TimeOfDay


class PlanRequest(BaseModel):
    contact_id: str
    now: datetime
    schedule: FlowSchedule | None = None
    local_at: NaiveDatetime | None = None
    time_of_day: TimeOfDay | None = None
    window: bool = False
