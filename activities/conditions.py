"""Condition evaluation against the read models, as of the workflow's clock."""

import structlog
from sqlalchemy import Engine
from temporalio import activity

from domain.conditions import (
    evaluate,
    fact_groups,
    lead_event_names,
    uncomparable_attributes,
    uses_contact_zone,
)
from domain.contracts.conditions import EvaluateRequest
from domain.scheduling.zones import Zones, with_zone
from projections.contacts import read_snapshot

log = structlog.get_logger()


class ConditionActivities:
    def __init__(self, engine: Engine, zones: Zones = Zones()):
        self.engine = engine
        self.zones = zones

    @activity.defn(name="evaluate_condition")
    def evaluate_condition(self, request: EvaluateRequest) -> bool:
        # Only what this condition reads: the load is most of a branch's latency.
        # A contact with no events yet has no tags or attributes; conditions see it empty.
        contact = read_snapshot(
            self.engine,
            request.contact_id,
            fact_groups(request.condition),
            lead_events=lead_event_names(request.condition),
        )
        if uses_contact_zone(request.condition):
            contact = with_zone(contact, self.zones, request.flow_zone)
        for problem in uncomparable_attributes(request.condition, contact):
            # Answered false, not failed: the journey goes on; whoever feeds the data is told.
            log.warning(
                "condition.uncomparable",
                contact_id=request.contact_id,
                workflow_id=activity.info().workflow_id,
                comparison=problem,
            )
        return evaluate(request.condition, contact, request.as_of)
