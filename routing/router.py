"""Routes newly ingested events to journeys.

A matching trigger enrolls the contact with signal-with-start, so a concurrent
duplicate never creates two journeys; the contact's other running journeys get the
event as a signal. Workflow ids are deterministic, so no lookup is needed to find them.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.conditions import Condition, ContactSnapshot, evaluate, fact_groups, lead_event_names
from domain.events import ContactEvent
from domain.flow import Flow
from domain.journey import REUSE_POLICIES, JourneyInput, journey_workflow_id
from projections.contacts import read_snapshot
from projections.flow_catalogue import published_flows
from routing.signals import signal_if_running
from workflows import search_attributes
from workflows.journey import JourneyWorkflow

log = structlog.get_logger("dripstone.router")



@dataclass(frozen=True)
class Routed:
    event_id: str
    flow_id: str
    workflow_id: str
    outcome: str  # enrolled | not_reentered | signalled | no_journey


class Router:
    def __init__(self, client: Client, engine: Engine, task_queue: str):
        self.client = client
        self.engine = engine
        self.task_queue = task_queue

    async def route(self, events: list[ContactEvent]) -> list[Routed]:
        if not events:
            return []
        with self.engine.connect() as conn:
            flows = published_flows(conn)
        routed = []
        for event in events:
            # Trigger conditions are checked as of routing time (there is no workflow
            # clock yet), on one snapshot holding what every matching trigger reads.
            hits = [flow.trigger.matches_event(event.type, event.payload) for flow in flows]
            conditions = [flow.trigger.condition for flow, hit in zip(flows, hits)
                          if hit and flow.trigger.condition is not None]
            contact, now = self._snapshot(event.contact_id, conditions), datetime.now(UTC)
            for flow, hit in zip(flows, hits):
                condition = flow.trigger.condition
                if hit and (condition is None or evaluate(condition, contact, now)):
                    routed.append(await self.enroll(flow, event.contact_id, event.event_id, event))
                else:
                    routed.append(await self._signal(flow, event))
        return routed

    def _snapshot(self, contact_id: str, conditions: list[Condition]) -> ContactSnapshot:
        """Only the fact groups the conditions read; no query at all when they read none
        (most events match no trigger, and clock-only conditions need no data)."""
        groups = set().union(*map(fact_groups, conditions))
        if not groups:
            return ContactSnapshot(contact_id=contact_id)
        names = set().union(*map(lead_event_names, conditions))
        return read_snapshot(self.engine, contact_id, groups, lead_events=names)

    async def enroll(self, flow: Flow, contact_id: str, enrollment_id: str,
                     event: ContactEvent | None) -> Routed:
        workflow_id = journey_workflow_id(flow.id, contact_id, flow.re_entry, enrollment_id)
        # A manual enrollment has no event to deliver; an argument-less "event" signal
        # would fail the journey's first workflow task over and over.
        start_signal = {"start_signal": "event", "start_signal_args": [event]} if event else {}
        try:
            await self.client.start_workflow(
                JourneyWorkflow.run,
                JourneyInput(flow=flow, contact_id=contact_id, enrollment_id=enrollment_id,
                             trigger_event=event),
                id=workflow_id, task_queue=self.task_queue,
                id_reuse_policy=REUSE_POLICIES[flow.re_entry],
                **start_signal,
                search_attributes=search_attributes.initial(
                    flow.id, flow.version, contact_id, flow.steps[0].id),
                static_summary=f"{flow.name or flow.id} v{flow.version} for contact {contact_id}",
            )
        except WorkflowAlreadyStartedError:
            # re_entry=never and the contact already went through this flow.
            return Routed(enrollment_id, flow.id, workflow_id, "not_reentered")
        log.info("journey.enrolled", flow_id=flow.id, version=flow.version,
                 contact_id=contact_id, workflow_id=workflow_id)
        return Routed(enrollment_id, flow.id, workflow_id, "enrolled")

    async def _signal(self, flow: Flow, event: ContactEvent) -> Routed:
        workflow_id = journey_workflow_id(flow.id, event.contact_id)
        found = await signal_if_running(self.client, workflow_id, "event", event)
        return Routed(event.event_id, flow.id, workflow_id, "signalled" if found else "no_journey")
