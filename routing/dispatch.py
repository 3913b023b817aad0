"""Getting stored events to Temporal, whatever happens after they were stored.

`deliver` routes events that were just appended (the fast path, in the process that
took them in). `Dispatcher` is the safety net: it retries every event whose routing
failed or never happened (Temporal down, process killed between commit and routing),
with backoff and without end, until it is delivered. Per contact, events are routed in
store order: a contact whose earlier event is still pending gets nothing routed past it.
"""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Engine

from domain.events import ContactEvent
from projections import dispatches
from routing.router import Routed, Router

log = structlog.get_logger("dripstone.dispatch")


@dataclass(frozen=True)
class Backoff:
    initial: timedelta = timedelta(seconds=1)
    ceiling: timedelta = timedelta(seconds=60)

    @classmethod
    def from_settings(cls, settings) -> "Backoff":
        return cls(timedelta(seconds=settings.dispatch_retry_initial_seconds),
                   timedelta(seconds=settings.dispatch_retry_max_seconds))


async def deliver(engine: Engine, router: Router, events: list[ContactEvent],
                  backoff: Backoff = Backoff(), redelivery: bool = False) -> list[Routed]:
    """Route `events` (in store order) and settle their dispatch records: delivered ones
    are deleted; at the first failure, that event and every one not yet routed are left
    to the dispatcher (Temporal is most likely unreachable, and trying each of them would
    only hold the caller up)."""
    if not events:
        return []
    ids = [e.event_id for e in events]
    held = await asyncio.to_thread(_held_back, engine, events, ids)
    routed: list[Routed] = []
    done: list[str] = []
    left: list[str] = []
    error = None
    try:
        flows = await asyncio.to_thread(router.live_flows)
        for index, event in enumerate(events):
            if event.contact_id in held:
                left.append(event.event_id)
                continue
            try:
                routed.extend(await router.route_event(event, flows, redelivery))
            except Exception as exc:  # noqa: BLE001 - any failure leaves the event to retry
                error = f"{type(exc).__name__}: {exc}"
                left.extend(e.event_id for e in events[index:] if e.contact_id not in held)
                break
            done.append(event.event_id)
    except Exception as exc:  # noqa: BLE001 - e.g. the flow catalogue could not be read
        error = f"{type(exc).__name__}: {exc}"
        left = [i for i in ids if i not in done]
    waiting = [e.event_id for e in events if e.contact_id in held]
    await asyncio.to_thread(_settle, engine, done, [i for i in left if i not in waiting]
                            if error else [], waiting, error, backoff)
    if error:
        log.warning("dispatch.deferred", events=len(left), error=error)
    return routed


def _held_back(engine: Engine, events: list[ContactEvent], ids: list[str]) -> set[str]:
    with engine.connect() as conn:
        return dispatches.held_back(conn, {e.contact_id for e in events}, ids)


def _settle(engine: Engine, done: list[str], failed: list[str], waiting: list[str],
            error: str | None, backoff: Backoff) -> None:
    """`waiting`: held behind an earlier failed event of their contact; due at once, so
    they go as soon as it has (claim_due keeps each contact's order)."""
    if not (done or failed or waiting):
        return
    with engine.begin() as conn:
        dispatches.delivered(conn, done)
        dispatches.due_now(conn, waiting, datetime.now(UTC))
        if failed:
            dispatches.failed(conn, failed, error or "", datetime.now(UTC),
                              backoff.initial, backoff.ceiling)


class Dispatcher:
    """Retries pending dispatch records until each is delivered; one per process that
    routes (worker, API, dev stack). Several may run: a claimed row is leased."""

    def __init__(self, engine: Engine, router: Router, backoff: Backoff = Backoff(),
                 poll: timedelta = timedelta(seconds=1), batch: int = 100):
        self.engine = engine
        self.router = router
        self.backoff = backoff
        self.poll = poll
        self.batch = batch

    @classmethod
    def from_settings(cls, settings, engine: Engine, router: Router) -> "Dispatcher":
        return cls(engine, router, Backoff.from_settings(settings),
                   timedelta(seconds=settings.dispatch_poll_seconds))

    async def deliver_due(self) -> int:
        """One pass: route what is due now; returns how many events were taken up."""
        events = await asyncio.to_thread(self._claim)
        if events:
            await deliver(self.engine, self.router, events, self.backoff, redelivery=True)
        return len(events)

    def _claim(self) -> list[ContactEvent]:
        with self.engine.begin() as conn:
            return dispatches.claim_due(conn, datetime.now(UTC), self.batch)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                taken = await self.deliver_due()
            except Exception:  # noqa: BLE001 - the database may be briefly away too
                log.exception("dispatch.pass_failed")
                taken = 0
            if taken < self.batch:
                try:
                    await asyncio.wait_for(stop.wait(), self.poll.total_seconds())
                except TimeoutError:
                    pass
