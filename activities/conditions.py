"""Condition evaluation against the read models, as of the workflow's clock."""

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from domain.conditions import Condition, ContactSnapshot, evaluate, fact_groups, lead_event_names
from projections.contacts import load_snapshot


class EvaluateRequest(BaseModel):
    contact_id: str
    condition: Condition
    as_of: datetime


class ConditionActivities:
    def __init__(self, engine: Engine):
        self.engine = engine

    @activity.defn(name="evaluate_condition")
    def evaluate_condition(self, request: EvaluateRequest) -> bool:
        with self.engine.connect() as conn:
            # Only what this condition reads: the loads are most of a branch's latency.
            contact = load_snapshot(conn, request.contact_id, fact_groups(request.condition),
                                    lead_events=lead_event_names(request.condition))
        # A contact with no events yet has no tags or attributes; conditions see it empty.
        contact = contact or ContactSnapshot(contact_id=request.contact_id)
        return evaluate(request.condition, contact, request.as_of)
