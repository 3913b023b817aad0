"""Getting stored events to Temporal, whatever happens after they were stored.

`deliver` routes events that were just appended (the fast path, in the process that
took them in). `Dispatcher` is the safety net: it retries every event whose routing
failed or never happened (Temporal down, process killed between commit and routing),
with backoff and without end, until it is delivered. Per contact, events are routed in
store order: a contact whose earlier event is still pending gets nothing routed past it.
"""

import asyncio
from dataclasses import dataclass, field
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


# Contacts routed at once. Each contact's events still go one after another, in store
# order; different contacts' journeys are independent, so they need not wait in line.
CONCURRENT_CONTACTS = 32


async def deliver(engine: Engine, router: Router, events: list[ContactEvent],
                  backoff: Backoff = Backoff(), redelivery: bool = False) -> list[Routed]:
    """Route `events` (in store order) and settle their dispatch records: delivered ones
    are deleted; when an event fails, it and its contact's later events are left to the
    dispatcher, with backoff."""
    if not events:
        return []
    ids = [e.event_id for e in events]
    held = await asyncio.to_thread(_held_back, engine, events, ids)
    queues: dict[str, list[ContactEvent]] = {}
    for event in events:
        if event.contact_id not in held:
            queues.setdefault(event.contact_id, []).append(event)
    try:
        flows = await asyncio.to_thread(router.live_flows)
    except Exception as exc:  # noqa: BLE001 - e.g. the flow catalogue could not be read
        outcomes = [_Outcome(left=[e.event_id for e in q], error=_describe(exc))
                    for q in queues.values()]
    else:
        gate = asyncio.Semaphore(CONCURRENT_CONTACTS)
        outcomes = await asyncio.gather(*(_route_in_order(router, queue, flows, redelivery, gate)
                                          for queue in queues.values()))
    done = [i for o in outcomes for i, _ in o.routed]
    failed = [i for o in outcomes if o.error for i in o.left]
    error = next((o.error for o in outcomes if o.error), None)
    waiting = [e.event_id for e in events if e.contact_id in held]
    await asyncio.to_thread(_settle, engine, done, failed, waiting, error, backoff)
    if error:
        log.warning("dispatch.deferred", events=len(failed), error=error)
    routed = {i: r for o in outcomes for i, r in o.routed}
    return [r for i in ids for r in routed.get(i, [])]


@dataclass
class _Outcome:
    """One contact's queue: what was routed (event id, routes), and from the failure on,
    what is left to the dispatcher."""
    routed: list[tuple[str, list[Routed]]] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    error: str | None = None


async def _route_in_order(router: Router, queue: list[ContactEvent], flows,
                          redelivery: bool, gate: asyncio.Semaphore) -> _Outcome:
    outcome = _Outcome()
    async with gate:
        for index, event in enumerate(queue):
            try:
                outcome.routed.append(
                    (event.event_id, await router.route_event(event, flows, redelivery)))
            except Exception as exc:  # noqa: BLE001 - any failure leaves the event to retry
                outcome.error = _describe(exc)
                outcome.left = [e.event_id for e in queue[index:]]
                break
    return outcome


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


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
