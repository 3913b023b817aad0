"""Routes stored events to journeys: the only place that decides whom an event reaches.

The journey index (projections/journey_index.py) says which journeys the contact is in,
whatever their flow's status or re-entry suffix: exactly those are signalled. Flows whose
trigger matches enroll the contact (signal-with-start, so a concurrent duplicate never
makes two journeys). A contact with no journey and no matching trigger costs one indexed
query for the whole batch and no Temporal call.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import structlog
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.conditions import Condition, ContactSnapshot, evaluate, fact_groups, lead_event_names
from domain.events import ContactEvent, payload_size
from domain.flow import Flow
from domain.journey import (
    JOURNEY_WORKFLOW,
    REUSE_POLICIES,
    JourneyInput,
    conflict_policy,
    journey_workflow_id,
)
from projections import journey_index as index
from projections.contacts import read_snapshot
from projections.live_flows import DEFAULT_CACHE_SIZE, LiveFlows
from routing.breaker import Breaker, never_sent
from routing.heard import MAX_SIGNAL_PAYLOAD_BYTES, for_journey, its_own
from routing.index_keeper import IndexKeeper
from routing.signals import describe_if_any, is_running, signal_if_running
from telemetry.metrics import JOURNEYS_STARTED
from workflows import search_attributes

log = structlog.get_logger("dripstone.router")

# Bounded, so a Temporal that is down fails the routing (and the dispatcher retries it)
# instead of holding an API request for the SDK's default minute.
RPC_TIMEOUT = timedelta(seconds=10)
# Which enrollment started a journey run, so a retried enrollment can recognise its own
# finished journey (see Router.enroll). An event or enrollment id: no personal data.
ENROLLMENT_MEMO = "dripstone_enrollment_id"


class Undeliverable(ValueError):
    """No retry can deliver this event; the dispatcher sets it aside as a dead letter."""


@dataclass(frozen=True)
class Routed:
    event_id: str
    flow_id: str
    workflow_id: str
    outcome: str  # enrolled | not_reentered | signalled | no_journey


class Router:
    def __init__(
        self,
        client: Client,
        engine: Engine,
        task_queue: str,
        rpc_timeout: timedelta = RPC_TIMEOUT,
        breaker: Breaker | None = None,
        flow_cache_size: int = DEFAULT_CACHE_SIZE,
        local_sends: Sequence[Literal["email", "sms"]] = (),
    ):
        """`local_sends`: the deployment's Settings.local_sends, given to every journey
        started here (JourneyInput.local_sends; none: sends are regular activities)."""
        self.client = client
        self.local_sends = list(local_sends)
        self.engine = engine
        self.task_queue = task_queue
        self.rpc_timeout = rpc_timeout
        self.flows = LiveFlows(engine, flow_cache_size)
        self.index = IndexKeeper(engine)
        # Shared by this process's fast path and dispatcher (see routing/breaker.py).
        self.breaker = breaker or Breaker()

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
            routed.extend(
                await self.route_event(event, journeys.get(event.contact_id, []), redelivery)
            )
        return routed

    async def route_event(
        self, event: ContactEvent, journeys: list[index.IndexedJourney], redelivery: bool = False
    ) -> list[Routed]:
        """Enroll where a trigger matches; signal the contact's live journeys. `journeys`
        is what the index said before this event; a journey this event starts is not
        signalled again (signal-with-start delivered it)."""
        flows = [
            flow
            for flow in self.flows.triggered_by(event.type)
            if flow.trigger.matches_event(event.type, event.payload)
        ]
        if flows or journeys:
            size = payload_size(for_journey(event).payload)
            if size > MAX_SIGNAL_PAYLOAD_BYTES:
                raise Undeliverable(
                    f"what a journey would be sent is {size} bytes, over "
                    f"what Temporal takes ({MAX_SIGNAL_PAYLOAD_BYTES})"
                )
        conditions = [f.trigger.condition for f in flows if f.trigger.condition is not None]
        if conditions:
            contact = await asyncio.to_thread(self._snapshot, event.contact_id, conditions)
            now = datetime.now(UTC)
            flows = [
                f
                for f in flows
                if f.trigger.condition is None or evaluate(f.trigger.condition, contact, now)
            ]
        calls, reached = [], set()
        for flow in flows:
            # enroll() also covers a contact already in the flow: its journey hears the
            # event (not_reentered), and a stale index row is healed and re-entered.
            reached.add(
                journey_workflow_id(flow.id, event.contact_id, flow.re_entry, event.event_id)
            )
            calls.append(
                self.enroll(flow, event.contact_id, event.event_id, event, redelivery=redelivery)
            )
        calls += [
            self._signal(j, event, "signalled")
            for j in journeys
            if j.workflow_id not in reached and not its_own(j.workflow_id, j.enrollment_id, event)
        ]
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

    async def enroll(
        self,
        flow: Flow,
        contact_id: str,
        enrollment_id: str,
        event: ContactEvent | None,
        redelivery: bool = False,
    ) -> Routed:
        """Start the contact's journey, under the flow's re-entry rule (domain/journey.py).
        The index row is claimed first, so the journey's own end always lands after it.
        `redelivery`: this enrollment may already have happened (a dispatch or backfill
        page being retried), so a finished journey from it must not start again."""
        workflow_id = journey_workflow_id(flow.id, contact_id, flow.re_entry, enrollment_id)
        owner = await asyncio.to_thread(
            self.index.claim, flow, contact_id, enrollment_id, workflow_id
        )
        if owner is None:  # closed for good under re_entry never: no call needed
            return Routed(enrollment_id, flow.id, workflow_id, "not_reentered")
        if owner != enrollment_id:
            # In the flow already, from another enrollment: an event reaches that journey,
            # a manual start does not. A row Temporal does not know is healed, then the
            # contact enters (as the re-entry rule allows).
            if (
                event is None
                # A flow triggered by what its own journey made: that journey knows.
                or its_own(workflow_id, owner, event)
                or await self._signal_id(workflow_id, event)
            ):
                return Routed(enrollment_id, flow.id, workflow_id, "not_reentered")
            await self._heal(workflow_id, owner)
            return await self.enroll(flow, contact_id, enrollment_id, event, redelivery)
        # Only after_exit lets a closed id start again; the others' reuse policy already
        # refuses a second run, so they need no look-up.
        may_rerun = REUSE_POLICIES[flow.re_entry] == WorkflowIDReusePolicy.ALLOW_DUPLICATE
        if redelivery and may_rerun and await self._already_enrolled(workflow_id, enrollment_id):
            return Routed(enrollment_id, flow.id, workflow_id, "enrolled")
        # A manual enrollment has no event to deliver; an argument-less "event" signal
        # would fail the journey's first workflow task over and over.
        sent = for_journey(event) if event is not None else None
        start_signal = {"start_signal": "event", "start_signal_args": [sent]} if sent else {}
        try:
            await self.client.start_workflow(
                JOURNEY_WORKFLOW,
                JourneyInput(
                    flow=flow,
                    contact_id=contact_id,
                    enrollment_id=enrollment_id,
                    trigger_event=sent,
                    local_sends=self.local_sends,
                ),
                id=workflow_id,
                task_queue=self.task_queue,
                id_reuse_policy=REUSE_POLICIES[flow.re_entry],
                id_conflict_policy=conflict_policy(with_event=event is not None),
                **start_signal,
                memo={ENROLLMENT_MEMO: enrollment_id},
                search_attributes=search_attributes.initial(
                    flow.id, flow.version, contact_id, flow.steps[0].id
                ),
                static_summary=f"{flow.name or flow.id} v{flow.version} for contact {contact_id}",
                rpc_timeout=self.rpc_timeout,
            )
        except WorkflowAlreadyStartedError:
            return await self._not_started(flow, workflow_id, enrollment_id, redelivery)
        except BaseException as exc:
            if never_sent(exc):
                # Temporal was not reached: no journey. The claim must not make the
                # contact look enrolled meanwhile; a retry claims again.
                await asyncio.to_thread(self.index.forget, workflow_id, enrollment_id)
            # Otherwise (a timeout, say) the start may have landed: the row stays, and
            # is healed if a later signal finds no such journey.
            raise
        log.info(
            "journey.enrolled",
            flow_id=flow.id,
            version=flow.version,
            contact_id=contact_id,
            workflow_id=workflow_id,
        )
        JOURNEYS_STARTED.labels("event" if event is not None else "manual").inc()
        return Routed(enrollment_id, flow.id, workflow_id, "enrolled")

    async def _not_started(
        self, flow: Flow, workflow_id: str, enrollment_id: str, redelivery: bool
    ) -> Routed:
        """Closed under re_entry never, or (a start without an event) running already."""
        running = is_running(await describe_if_any(self.client, workflow_id, self.rpc_timeout))
        if not running:
            await asyncio.to_thread(self.index.ended, workflow_id, enrollment_id)
        if redelivery and running:
            return Routed(enrollment_id, flow.id, workflow_id, "enrolled")
        return Routed(enrollment_id, flow.id, workflow_id, "not_reentered")

    async def _already_enrolled(self, workflow_id: str, enrollment_id: str) -> bool:
        """The latest run under this id came from this very enrollment (its memo says so)."""
        described = await describe_if_any(self.client, workflow_id, self.rpc_timeout)
        return (
            described is not None
            and (await described.memo_value(ENROLLMENT_MEMO, None)) == enrollment_id
        )

    async def _heal(self, workflow_id: str, enrollment_id: str) -> None:
        """The index said live, Temporal has no such run. Never started at all: the row
        goes; started and closed since (terminated, failed): the row is ended."""
        described = await describe_if_any(self.client, workflow_id, self.rpc_timeout)
        if described is None:
            await asyncio.to_thread(self.index.forget, workflow_id, enrollment_id)
        else:
            await asyncio.to_thread(self.index.ended, workflow_id, enrollment_id)

    async def _signal_id(self, workflow_id: str, event: ContactEvent) -> bool:
        return await signal_if_running(
            self.client, workflow_id, "event", for_journey(event), rpc_timeout=self.rpc_timeout
        )

    async def _signal(
        self, journey: index.IndexedJourney, event: ContactEvent, outcome: str
    ) -> Routed:
        if await self._signal_id(journey.workflow_id, event):
            return Routed(event.event_id, journey.flow_id, journey.workflow_id, outcome)
        # The index said live, Temporal has no such run (ended unrecorded, terminated):
        # heal the row so the next event costs nothing.
        await self._heal(journey.workflow_id, journey.enrollment_id)
        return Routed(event.event_id, journey.flow_id, journey.workflow_id, "no_journey")
