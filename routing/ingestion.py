"""The one path every event takes in: validate at the edge, append + project in one
transaction, then route what was new. Duplicates stop at the append."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from domain.events import ContactEvent, parse_event
from projections.event_store import ingest
from routing.router import Routed, Router


async def ingest_events(engine: Engine, router: Router,
                        events: list[ContactEvent]) -> tuple[list[ContactEvent], list[Routed]]:
    appended = ingest(engine, events)
    return appended, await router.route(appended)


async def ingest_raw(engine: Engine, router: Router, raw: list[dict[str, Any]]):
    """Validate every event before appending any, so one bad event in a batch cannot
    leave half of it accepted."""
    now = datetime.now(UTC)
    events = [parse_event(item, now=now) for item in raw]
    return await ingest_events(engine, router, events)
