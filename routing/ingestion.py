"""The one path every event from outside takes in: validate at the edge, append +
project + record its dispatch in one transaction, then route what was new. Duplicates
stop at the append; an event whose routing fails stays recorded for the dispatcher."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from domain.events import DEFAULT_MAX_PAYLOAD_BYTES, ContactEvent, parse_event
from projections import dispatches, engine_flags
from projections.dialect import lock_contacts
from projections import journey_index as index
from projections.event_store import Routable, ingest, ingest_routable
from routing.dispatch import Backoff, deliver
from routing.router import Routed, Router


async def ingest_events(engine: Engine, router: Router | None, events: list[ContactEvent],
                        backoff: Backoff = Backoff()) -> tuple[list[ContactEvent], list[Routed]]:
    """Without a router (no Temporal client in this process) the events wait for the
    dispatcher of a process that has one."""
    if router is None:
        return await asyncio.to_thread(ingest, engine, events, dispatch=True), []
    await asyncio.to_thread(router.flows.load)
    appended, to_route = await asyncio.to_thread(ingest_routable, engine, events,
                                                 _routable(router.flows.trigger_types()))
    return appended, await deliver(engine, router, to_route, backoff, flows_loaded=True)


def _routable(trigger_types: set[str]) -> Routable:
    """Only events that can reach a journey get a dispatch record: a published flow is
    triggered by their type, or their contact is in a journey, or has an earlier event
    still to be routed (which may be starting one now: its record is removed only once
    it has been routed, so this check inside the append's transaction cannot miss it).
    Most events reach nobody; they cost no record and no routing."""
    def pick(conn, appended: list[ContactEvent]) -> list[ContactEvent]:
        contacts = {e.contact_id for e in appended}
        # Concurrent appends for one contact take turns (PostgreSQL; SQLite's writer
        # lock does this already), so each sees the other's committed records.
        lock_contacts(conn, contacts)
        # Pending records first: the router commits its claim on the index before it
        # deletes the record that caused it, so between the two reads nothing slips by.
        if engine_flags.is_set(conn, engine_flags.JOURNEY_INDEX_INCOMPLETE):
            return appended  # journeys from before the index may be missing from it
        pending = dispatches.contacts_pending(conn, contacts)
        reachable = pending | index.contacts_in_journeys(conn, contacts)
        chosen = []
        for event in appended:  # store order: a contact's later events follow its first
            if event.contact_id in reachable or event.type in trigger_types:
                reachable.add(event.contact_id)
                chosen.append(event)
        return chosen
    return pick


async def ingest_raw(engine: Engine, router: Router | None, raw: list[dict[str, Any]],
                     backoff: Backoff = Backoff(),
                     max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES):
    """Validate every event before appending any, so one bad event in a batch cannot
    leave half of it accepted."""
    now = datetime.now(UTC)
    events = [parse_event(item, now=now, max_payload_bytes=max_payload_bytes) for item in raw]
    return await ingest_events(engine, router, events, backoff)
