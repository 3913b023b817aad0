"""Pause, resume and stop: one contact's journeys in a flow (any re-entry suffix), or a
page of a flow's journeys. The journey index says which journeys are live; the index
follows each signal (paused / running), and a journey Temporal no longer has is marked
ended there."""

import asyncio
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Engine
from temporalio.client import Client

from projections import journey_index as index
from routing.signals import signal_if_running

log = structlog.get_logger("dripstone.controls")

SIGNALS = ("pause", "resume", "stop")
# What the index says after each signal reached a journey.
STATUS_AFTER = {"pause": index.PAUSED, "resume": index.RUNNING, "stop": index.RUNNING}


def _args(signal: str, reason: str | None, default_reason: str) -> tuple:
    return (reason or default_reason,) if signal == "stop" else ()


class JourneyControls:
    def __init__(
        self, client: Client, engine: Engine, rpc_timeout: timedelta | None = timedelta(seconds=10)
    ):
        self.client = client
        self.engine = engine
        self.rpc_timeout = rpc_timeout

    async def signal_contact(
        self, flow_id: str, contact_id: str, signal: str, reason: str | None = None
    ) -> int:
        """Every live journey of the contact in the flow (several under re_entry
        always) gets the signal; returns how many did (0: not in that flow)."""
        journeys = await asyncio.to_thread(self._live, contact_id, flow_id)
        return await self.signal_journeys(journeys, signal, _args(signal, reason, "by request"))

    async def signal_contact_everywhere(
        self, contact_id: str, signal: str, reason: str | None = None
    ) -> int:
        journeys = await asyncio.to_thread(self._live, contact_id, None)
        return await self.signal_journeys(journeys, signal, _args(signal, reason, "by request"))

    async def signal_flow_page(
        self, flow_id: str, signal: str, reason: str | None, after: str, limit: int
    ) -> tuple[int, str | None]:
        """One page of a flow's live journeys: (how many got it, the cursor for the next
        page, None when this was the last)."""
        page = await asyncio.to_thread(self._page, flow_id, after, limit)
        count = await self.signal_journeys(
            page, signal, _args(signal, reason, f"flow {flow_id} archived")
        )
        return count, (page[-1].workflow_id if len(page) == limit else None)

    async def signal_journeys(
        self, journeys: list[index.IndexedJourney], signal: str, args: tuple
    ) -> int:
        if signal not in SIGNALS:
            raise ValueError(f"unknown signal {signal!r}; one of {', '.join(SIGNALS)}")
        found = await asyncio.gather(
            *(
                signal_if_running(
                    self.client, j.workflow_id, signal, *args, rpc_timeout=self.rpc_timeout
                )
                for j in journeys
            )
        )
        reached = [j for j, ok in zip(journeys, found, strict=False) if ok]
        gone = [j for j, ok in zip(journeys, found, strict=False) if not ok]
        await asyncio.to_thread(self._record, reached, gone, STATUS_AFTER[signal])
        return len(reached)

    def _live(self, contact_id: str, flow_id: str | None) -> list[index.IndexedJourney]:
        with self.engine.connect() as conn:
            return index.for_contact(conn, contact_id, flow_id, live_only=True)

    def _page(self, flow_id: str, after: str, limit: int) -> list[index.IndexedJourney]:
        with self.engine.connect() as conn:
            return index.live_page(conn, flow_id, after, limit)

    def _record(
        self, reached: list[index.IndexedJourney], gone: list[index.IndexedJourney], status: str
    ) -> None:
        """Per enrollment: a journey that re-entered meanwhile keeps its own status."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for journey in reached:
                index.set_status(conn, [journey.workflow_id], status, now, journey.enrollment_id)
            for journey in gone:
                index.set_status(
                    conn, [journey.workflow_id], index.ENDED, now, journey.enrollment_id
                )
