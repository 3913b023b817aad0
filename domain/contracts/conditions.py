"""evaluate_condition: a condition against the read models, as of the workflow's clock."""

from datetime import datetime

from pydantic import BaseModel

from domain.conditions import Condition


class EvaluateRequest(BaseModel):
    contact_id: str
    condition: Condition
    as_of: datetime
    # The flow's own default zone (FlowSchedule.time_zone), for clock conditions in the
    # contact's zone when the contact has none.
    flow_zone: str | None = None
