"""Routes newly ingested events to journeys.

A matching trigger enrolls the contact with signal-with-start, so a concurrent
duplicate never creates two journeys; the contact's other running journeys get the
event as a signal. Workflow ids are deterministic, so no lookup is needed to find them.
"""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.conditions import Condition, ContactSnapshot, evaluate, fact_groups, lead_event_names
from domain.events import ContactEvent
from domain.flow import Flow
from domain.journey import REUSE_POLICIES, JourneyInput, conflict_policy, journey_workflow_id
from projections.contacts import read_snapshot
from projections.flow_catalogue import published_flows
from routing.signals import signal_if_running
from workflows import search_attributes
from workflows.journey import JourneyWorkflow

log = structlog.get_logger("dripstone.router")

# Bounded, so a Temporal that is down fails the routing (and the dispatcher retries it)
# instead of holding an API request for the SDK's default minute.
RPC_TIMEOUT = timedelta(seconds=10)
# Which enrollment started a journey run, so a retried enrollment can recognise its own
# finished journey (see Router.enroll). An event or enrollment id: no personal data.
ENROLLMENT_MEMO = "dripstone_enrollment_id"


@dataclass(frozen=True)
class Routed:
    event_id: str
    flow_id: str
    workflow_id: str
    outcome: str  # enrolled | not_reentered | signalled | no_journey


class Router:
    def __init__(self, client: Client, engine: Engine, task_queue: str,
                 rpc_timeout: timedelta = RPC_TIMEOUT):
        self.client = client
        self.engine = engine
        self.task_queue = task_queue
        self.rpc_timeout = rpc_timeout

    def live_flows(self) -> list[Flow]:
        with self.engine.connect() as conn:
            return published_flows(conn)

    async def route(self, events: list[ContactEvent], redelivery: bool = False) -> list[Routed]:
        if not events:
            return []
        flows = self.live_flows()
        routed = []
        for event in events:
            routed.extend(await self.route_event(event, flows, redelivery))
        return routed

    async def route_event(self, event: ContactEvent, flows: list[Flow],
                          redelivery: bool = False) -> list[Routed]:
        """Enroll where the trigger matches, signal the contact's journey everywhere else.
        Trigger conditions are checked as of routing time (there is no workflow clock
        yet), on one snapshot holding what every matching trigger reads."""
        hits = [flow.trigger.matches_event(event.type, event.payload) for flow in flows]
        conditions = [flow.trigger.condition for flow, hit in zip(flows, hits)
                      if hit and flow.trigger.condition is not None]
        contact, now = self._snapshot(event.contact_id, conditions), datetime.now(UTC)
        calls = []
        for flow, hit in zip(flows, hits):
            condition = flow.trigger.condition
            if hit and (condition is None or evaluate(condition, contact, now)):
                calls.append(self.enroll(flow, event.contact_id, event.event_id, event,
                                         redelivery=redelivery))
            else:
                calls.append(self._signal(flow, event))
        # One journey per flow: they are independent, so their calls go out together.
        results = await asyncio.gather(*calls, return_exceptions=True)
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            raise failure  # the whole event is retried; enrolling and signalling are idempotent
        return list(results)

    def _snapshot(self, contact_id: str, conditions: list[Condition]) -> ContactSnapshot:
        """Only the fact groups the conditions read; no query at all when they read none
        (most events match no trigger, and clock-only conditions need no data)."""
        groups = set().union(*map(fact_groups, conditions))
        if not groups:
            return ContactSnapshot(contact_id=contact_id)
        names = set().union(*map(lead_event_names, conditions))
        return read_snapshot(self.engine, contact_id, groups, lead_events=names)

    async def enroll(self, flow: Flow, contact_id: str, enrollment_id: str,
                     event: ContactEvent | None, redelivery: bool = False) -> Routed:
        """Start the contact's journey, under the flow's re-entry rule (domain/journey.py).
        `redelivery`: this enrollment may already have happened (a dispatch or backfill
        page being retried), so a finished journey from it must not start again."""
        workflow_id = journey_workflow_id(flow.id, contact_id, flow.re_entry, enrollment_id)
        # Only after_exit lets a closed id start again; the others' reuse policy already
        # refuses a second run, so they need no look-up.
        may_rerun = REUSE_POLICIES[flow.re_entry] == WorkflowIDReusePolicy.ALLOW_DUPLICATE
        if redelivery and may_rerun and await self._already_enrolled(workflow_id, enrollment_id):
            return Routed(enrollment_id, flow.id, workflow_id, "enrolled")
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
                id_conflict_policy=conflict_policy(with_event=event is not None),
                **start_signal,
                memo={ENROLLMENT_MEMO: enrollment_id},
                search_attributes=search_attributes.initial(
                    flow.id, flow.version, contact_id, flow.steps[0].id),
                static_summary=f"{flow.name or flow.id} v{flow.version} for contact {contact_id}",
                rpc_timeout=self.rpc_timeout,
            )
        except WorkflowAlreadyStartedError:
            # Closed under re_entry never (or running, for a start without an event).
            return Routed(enrollment_id, flow.id, workflow_id, "not_reentered")
        log.info("journey.enrolled", flow_id=flow.id, version=flow.version,
                 contact_id=contact_id, workflow_id=workflow_id)
        return Routed(enrollment_id, flow.id, workflow_id, "enrolled")

    async def _already_enrolled(self, workflow_id: str, enrollment_id: str) -> bool:
        """The latest run under this id came from this very enrollment (its memo says so)."""
        try:
            described = await self.client.get_workflow_handle(workflow_id).describe(
                rpc_timeout=self.rpc_timeout)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return (await described.memo_value(ENROLLMENT_MEMO, None)) == enrollment_id

    async def _signal(self, flow: Flow, event: ContactEvent) -> Routed:
        workflow_id = journey_workflow_id(flow.id, event.contact_id)
        found = await signal_if_running(self.client, workflow_id, "event", event,
                                        rpc_timeout=self.rpc_timeout)
        return Routed(event.event_id, flow.id, workflow_id, "signalled" if found else "no_journey")
