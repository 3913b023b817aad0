"""The one path every event from outside takes in: validate at the edge, append +
project + record its dispatch in one transaction, then route what was new. Duplicates
stop at the append; an event whose routing fails stays recorded for the dispatcher."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from domain.events import ContactEvent, parse_event
from projections.event_store import ingest
from routing.dispatch import Backoff, deliver
from routing.router import Routed, Router


async def ingest_events(engine: Engine, router: Router | None, events: list[ContactEvent],
                        backoff: Backoff = Backoff()) -> tuple[list[ContactEvent], list[Routed]]:
    """Without a router (no Temporal client in this process) the events wait for the
    dispatcher of a process that has one."""
    appended = await asyncio.to_thread(ingest, engine, events, dispatch=True)
    if router is None:
        return appended, []
    return appended, await deliver(engine, router, appended, backoff)


async def ingest_raw(engine: Engine, router: Router | None, raw: list[dict[str, Any]],
                     backoff: Backoff = Backoff()):
    """Validate every event before appending any, so one bad event in a batch cannot
    leave half of it accepted."""
    now = datetime.now(UTC)
    events = [parse_event(item, now=now) for item in raw]
    return await ingest_events(engine, router, events, backoff)
