"""Where a journey is now, beyond its own state: what its wait is for and until when (from
the flow version it runs and the contact's zone), and a step whose activity Temporal is
retrying (a webhook target that keeps failing), with the last error. Shared by
`dripstone journeys` and GET /v1/contacts/{id}/journeys."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.service import RPCError

from domain.journey import JourneyState
from domain.journey_waiting import WaitView, waiting_view
from domain.scheduling.zones import Zones, with_zone
from projections.contacts import load_snapshot
from projections.flow_catalogue import UnknownFlow, UnknownVersion, get_version

DESCRIBE_TIMEOUT = timedelta(seconds=5)


class RetryView(BaseModel):
    activity: str = Field(description="The step's activity Temporal is retrying.")
    attempt: int
    last_error: str | None
    next_attempt_at: datetime | None


def waiting(
    engine: Engine,
    zones: Zones,
    flow_id: str,
    version: int | None,
    contact_id: str,
    state: JourneyState | None,
) -> WaitView | None:
    if state is None or state.wait is None or not version:
        return None
    with engine.connect() as conn:
        try:
            flow = get_version(conn, flow_id, version)
        except (UnknownFlow, UnknownVersion):
            return None
        snapshot = load_snapshot(conn, contact_id, {"contact", "attributes"})
    if snapshot is None:
        return None
    flow_zone = flow.schedule.time_zone if flow.schedule else None
    return waiting_view(flow, state, ZoneInfo(with_zone(snapshot, zones, flow_zone).zone))


async def journeys_now(
    engine: Engine,
    client: Client,
    zones: Zones,
    journeys: list[tuple[str, str, int | None, str, JourneyState | None]],
) -> dict[str, tuple[WaitView | None, RetryView | None]]:
    """(workflow id, flow, version, contact, state) -> (wait, retry), for the journeys
    views: the waits read the database one after another, the retries are asked of
    Temporal all at once."""
    waits = [
        await asyncio.to_thread(waiting, engine, zones, flow_id, version, contact_id, state)
        for _, flow_id, version, contact_id, state in journeys
    ]
    retries = await asyncio.gather(*(retrying(client, j[0]) for j in journeys))
    return {j[0]: (w, r) for j, w, r in zip(journeys, waits, retries, strict=True)}


async def retrying(client: Client, workflow_id: str, run_id: str | None = None) -> RetryView | None:
    """The first activity past its first attempt, or None (none, or Temporal silent)."""
    try:
        described = await client.get_workflow_handle(workflow_id, run_id=run_id).describe(
            rpc_timeout=DESCRIBE_TIMEOUT
        )
    except RPCError:
        return None
    for pending in described.raw_description.pending_activities:
        if pending.attempt <= 1:
            continue
        error = None
        if pending.HasField("last_failure"):
            # Failures are encrypted by the codec: decoded here for someone with the key.
            try:
                error = str(await client.data_converter.decode_failure(pending.last_failure))[:500]
            except Exception:  # noqa: BLE001 - e.g. a key rotated away: say so, not a 500
                error = "(the last error could not be decoded with this process's codec keys)"
        next_at = (
            pending.next_attempt_schedule_time.ToDatetime(tzinfo=UTC)
            if pending.HasField("next_attempt_schedule_time")
            else None
        )
        return RetryView(
            activity=pending.activity_type.name,
            attempt=pending.attempt,
            last_error=error,
            next_attempt_at=next_at,
        )
    return None
