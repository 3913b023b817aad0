"""Routes stored events to journeys: the only place that decides whom an event reaches.

The journey index (projections/journey_index.py) says which journeys the contact is in,
whatever their flow's status or re-entry suffix: exactly those are signalled. Flows whose
trigger matches enroll the contact (signal-with-start, so a concurrent duplicate never
makes two journeys). A contact with no journey and no matching trigger costs one indexed
query for the whole batch and no Temporal call.
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
from domain.events import ContactEvent, payload_size
from domain.flow import Flow, ReEntry
from domain.journey import (
    JOURNEY_WORKFLOW, REUSE_POLICIES, JourneyInput, conflict_policy, journey_workflow_id,
)
from projections import journey_index as index
from projections.contacts import read_snapshot
from routing.breaker import Breaker
from routing.live_flows import LiveFlows
from routing.signals import signal_if_running
from workflows import search_attributes

log = structlog.get_logger("dripstone.router")

# Bounded, so a Temporal that is down fails the routing (and the dispatcher retries it)
# instead of holding an API request for the SDK's default minute.
RPC_TIMEOUT = timedelta(seconds=10)
# Which enrollment started a journey run, so a retried enrollment can recognise its own
# finished journey (see Router.enroll). An event or enrollment id: no personal data.
ENROLLMENT_MEMO = "dripstone_enrollment_id"
# Temporal refuses a payload over 2 MB. The edge refuses far smaller events, but one
# stored before that limit (or written straight into the store) must not be retried
# forever: it becomes a dead letter.
MAX_SIGNAL_PAYLOAD_BYTES = 1_500_000


class Undeliverable(ValueError):
    """No retry can deliver this event; the dispatcher sets it aside as a dead letter."""


@dataclass(frozen=True)
class Routed:
    event_id: str
    flow_id: str
    workflow_id: str
    outcome: str  # enrolled | not_reentered | signalled | no_journey


class Router:
    def __init__(self, client: Client, engine: Engine, task_queue: str,
                 rpc_timeout: timedelta = RPC_TIMEOUT, breaker: Breaker | None = None):
        self.client = client
        self.engine = engine
        self.task_queue = task_queue
        self.rpc_timeout = rpc_timeout
        self.flows = LiveFlows(engine)
        # Shared by this process's fast path and dispatcher (see routing/breaker.py).
        self.breaker = breaker or Breaker()

    def live_flows(self) -> list[Flow]:
        return self.flows.load()

    def journeys_of(self, contact_ids) -> dict[str, list[index.IndexedJourney]]:
        with self.engine.connect() as conn:
            return index.live_by_contact(conn, contact_ids)

    async def route(self, events: list[ContactEvent], redelivery: bool = False) -> list[Routed]:
        """Route events one after another (callers that route many contacts at once use
        routing.dispatch.deliver)."""
        routed = []
        await asyncio.to_thread(self.flows.load)
        for event in events:
            journeys = await asyncio.to_thread(self.journeys_of, [event.contact_id])
            routed.extend(await self.route_event(event, journeys.get(event.contact_id, []),
                                                 redelivery))
        return routed

    async def route_event(self, event: ContactEvent, journeys: list[index.IndexedJourney],
                          redelivery: bool = False) -> list[Routed]:
        """Enroll where a trigger matches; signal the contact's live journeys. `journeys`
        is what the index said before this event; a journey this event starts is not
        signalled again (signal-with-start delivered it)."""
        flows = [flow for flow in self.flows.triggered_by(event.type)
                 if flow.trigger.matches_event(event.type, event.payload)]
        if (flows or journeys) and payload_size(event.payload) > MAX_SIGNAL_PAYLOAD_BYTES:
            raise Undeliverable(f"payload of {payload_size(event.payload)} bytes is over "
                                f"what Temporal takes ({MAX_SIGNAL_PAYLOAD_BYTES})")
        conditions = [f.trigger.condition for f in flows if f.trigger.condition is not None]
        if conditions:
            contact = await asyncio.to_thread(self._snapshot, event.contact_id, conditions)
            now = datetime.now(UTC)
            flows = [f for f in flows if f.trigger.condition is None
                     or evaluate(f.trigger.condition, contact, now)]
        live = {j.workflow_id: j for j in journeys}
        calls, reached = [], set()
        for flow in flows:
            workflow_id = journey_workflow_id(flow.id, event.contact_id, flow.re_entry,
                                              event.event_id)
            if workflow_id in live and flow.re_entry != ReEntry.ALWAYS:
                # Already in this flow: the trigger does not re-enter it; the running
                # journey hears the event like any other.
                reached.add(workflow_id)
                calls.append(self._signal(live[workflow_id], event, "not_reentered"))
            else:
                reached.add(workflow_id)
                calls.append(self.enroll(flow, event.contact_id, event.event_id, event,
                                         redelivery=redelivery))
        calls += [self._signal(j, event, "signalled") for j in journeys
                  if j.workflow_id not in reached]
        # Journeys are independent, so their calls go out together.
        results = await asyncio.gather(*calls, return_exceptions=True)
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            raise failure  # the whole event is retried; enrolling and signalling are idempotent
        return list(results)

    def _snapshot(self, contact_id: str, conditions: list[Condition]) -> ContactSnapshot:
        """Only the fact groups the conditions read; no query at all when they read none
        (clock-only conditions need no data)."""
        groups = set().union(*map(fact_groups, conditions))
        if not groups:
            return ContactSnapshot(contact_id=contact_id)
        names = set().union(*map(lead_event_names, conditions))
        return read_snapshot(self.engine, contact_id, groups, lead_events=names)

    async def enroll(self, flow: Flow, contact_id: str, enrollment_id: str,
                     event: ContactEvent | None, redelivery: bool = False) -> Routed:
        """Start the contact's journey, under the flow's re-entry rule (domain/journey.py).
        The index row is claimed first, so the journey's own end always lands after it.
        `redelivery`: this enrollment may already have happened (a dispatch or backfill
        page being retried), so a finished journey from it must not start again."""
        workflow_id = journey_workflow_id(flow.id, contact_id, flow.re_entry, enrollment_id)
        owner = await asyncio.to_thread(self._claim, flow, contact_id, enrollment_id, workflow_id)
        if owner is None:  # closed for good under re_entry never: no call needed
            return Routed(enrollment_id, flow.id, workflow_id, "not_reentered")
        if owner != enrollment_id:
            # Running for another enrollment: an event reaches it, a manual start does not.
            if event is None:
                return Routed(enrollment_id, flow.id, workflow_id, "not_reentered")
            found = await self._signal_id(workflow_id, event)
            if found:
                return Routed(enrollment_id, flow.id, workflow_id, "not_reentered")
            await asyncio.to_thread(self._mark, [workflow_id], index.ENDED, owner)
            return await self.enroll(flow, contact_id, enrollment_id, event, redelivery)
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
                JOURNEY_WORKFLOW,
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
            return await self._not_started(flow, workflow_id, enrollment_id, redelivery)
        except BaseException:
            # Not started (Temporal down, say): the claim must not make the contact look
            # enrolled meanwhile, nor closed for good. A retry claims again; if the start
            # did land after all, its signal-with-start finds it and the row comes back.
            await asyncio.to_thread(self._forget, workflow_id, enrollment_id)
            raise
        log.info("journey.enrolled", flow_id=flow.id, version=flow.version,
                 contact_id=contact_id, workflow_id=workflow_id)
        return Routed(enrollment_id, flow.id, workflow_id, "enrolled")

    async def _not_started(self, flow: Flow, workflow_id: str, enrollment_id: str,
                           redelivery: bool) -> Routed:
        """Closed under re_entry never, or (a start without an event) running already."""
        running = await self._is_running(workflow_id)
        if not running:
            await asyncio.to_thread(self._mark, [workflow_id], index.ENDED, enrollment_id)
        if redelivery and running:
            return Routed(enrollment_id, flow.id, workflow_id, "enrolled")
        return Routed(enrollment_id, flow.id, workflow_id, "not_reentered")
        log.info("journey.enrolled", flow_id=flow.id, version=flow.version,
                 contact_id=contact_id, workflow_id=workflow_id)
        return Routed(enrollment_id, flow.id, workflow_id, "enrolled")

    def _claim(self, flow: Flow, contact_id: str, enrollment_id: str,
               workflow_id: str) -> str | None:
        """The enrollment that owns the live row after claiming it; None when the id is
        closed for good (re_entry never, ended already)."""
        with self.engine.begin() as conn:
            row = index.get(conn, workflow_id)
            if (row is not None and row.status == index.ENDED and flow.re_entry == ReEntry.NEVER
                    and row.enrollment_id != enrollment_id):
                return None
            return index.claim_start(conn, workflow_id=workflow_id, contact_id=contact_id,
                                     flow_id=flow.id, flow_version=flow.version,
                                     enrollment_id=enrollment_id, now=datetime.now(UTC))

    def _forget(self, workflow_id: str, enrollment_id: str) -> None:
        with self.engine.begin() as conn:
            index.forget(conn, workflow_id, enrollment_id)

    def _mark(self, workflow_ids: list[str], status: str, enrollment_id: str | None = None) -> None:
        with self.engine.begin() as conn:
            index.set_status(conn, workflow_ids, status, datetime.now(UTC), enrollment_id)

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

    async def _is_running(self, workflow_id: str) -> bool:
        try:
            described = await self.client.get_workflow_handle(workflow_id).describe(
                rpc_timeout=self.rpc_timeout)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return described.status is not None and described.status.name == "RUNNING"

    async def _signal_id(self, workflow_id: str, event: ContactEvent) -> bool:
        return await signal_if_running(self.client, workflow_id, "event", event,
                                       rpc_timeout=self.rpc_timeout)

    async def _signal(self, journey: index.IndexedJourney, event: ContactEvent,
                      outcome: str) -> Routed:
        if await self._signal_id(journey.workflow_id, event):
            return Routed(event.event_id, journey.flow_id, journey.workflow_id, outcome)
        # The index said live, Temporal has no such run (ended unrecorded, terminated):
        # heal the row so the next event costs nothing.
        await asyncio.to_thread(self._mark, [journey.workflow_id], index.ENDED,
                                journey.enrollment_id)
        return Routed(event.event_id, journey.flow_id, journey.workflow_id, "no_journey")
