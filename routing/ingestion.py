"""The one path every event from outside takes in: validate at the edge, append +
project + record its dispatch in one transaction, then route what was new. Duplicates
stop at the append; an event whose routing fails stays recorded for the dispatcher."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from domain.events import DEFAULT_MAX_PAYLOAD_BYTES, PAYLOAD_SCHEMAS, ContactEvent, parse_event
from projections.event_store import ingest, ingest_routable
from projections.reachable import routable
from routing.dispatch import Backoff, deliver
from routing.router import Routed, Router
from telemetry.metrics import EVENTS_INGESTED, bounded

EVENT_TYPES = frozenset(PAYLOAD_SCHEMAS)


async def ingest_events(
    engine: Engine, router: Router | None, events: list[ContactEvent], backoff: Backoff = Backoff()
) -> tuple[list[ContactEvent], list[Routed]]:
    """Without a router (no Temporal client in this process) the events wait for the
    dispatcher of a process that has one."""
    if router is None:
        appended = await asyncio.to_thread(ingest, engine, events, dispatch=True)
        _count(events, appended)
        return appended, []
    await asyncio.to_thread(router.flows.load)
    appended, to_route = await asyncio.to_thread(
        ingest_routable, engine, events, routable(router.flows.trigger_types())
    )
    _count(events, appended)
    return appended, await deliver(engine, router, to_route, backoff, flows_loaded=True)


def _count(received: list[ContactEvent], appended: list[ContactEvent]) -> None:
    """After the commit, so a rolled-back batch counts nothing."""
    new = {e.event_id for e in appended}
    for event in received:
        result = "appended" if event.event_id in new else "duplicate"
        new.discard(event.event_id)  # a repeat within the batch is a duplicate
        EVENTS_INGESTED.labels(bounded(event.type, EVENT_TYPES), result).inc()


async def ingest_raw(
    engine: Engine,
    router: Router | None,
    raw: list[dict[str, Any]],
    backoff: Backoff = Backoff(),
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    phone_region: str | None = None,
):
    """Validate every event before appending any, so one bad event in a batch cannot
    leave half of it accepted."""
    now = datetime.now(UTC)
    events = [
        parse_event(item, now=now, max_payload_bytes=max_payload_bytes, phone_region=phone_region)
        for item in raw
    ]
    return await ingest_events(engine, router, events, backoff)
