"""Getting stored events to Temporal, whatever happens after they were stored.

`deliver` routes events that were just appended (the fast path, in the process that
took them in). `Dispatcher` is the safety net: it retries every event whose routing
failed or never happened (Temporal down, process killed between commit and routing),
with backoff and without end, until it is delivered. Per contact, events are routed in
store order: a contact whose earlier event is still pending gets nothing routed past it.
"""

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from pydantic_core import PydanticSerializationError
from sqlalchemy import Engine
from temporalio.service import RPCError, RPCStatusCode

from domain.events import ContactEvent
from projections import dispatches
from projections import journey_index as index
from projections.dispatch_bell import BELL
from routing.breaker import unreachable
from routing.router import Routed, Router, Undeliverable
from telemetry.metrics import (
    DEAD_LETTERS,
    EVENTS_ROUTED,
    ROUTED_OUTCOMES,
    ROUTING_DEFERRED,
    ROUTING_SECONDS,
    bounded,
)

log = structlog.get_logger("dripstone.dispatch")


@dataclass(frozen=True)
class Backoff:
    initial: timedelta = timedelta(seconds=1)
    ceiling: timedelta = timedelta(seconds=60)

    @classmethod
    def from_settings(cls, settings) -> "Backoff":
        return cls(
            timedelta(seconds=settings.dispatch_retry_initial_seconds),
            timedelta(seconds=settings.dispatch_retry_max_seconds),
        )


# Contacts routed at once. Each contact's events still go one after another, in store
# order; different contacts' journeys are independent, so they need not wait in line.
CONCURRENT_CONTACTS = 32


async def deliver(
    engine: Engine,
    router: Router,
    events: list[ContactEvent],
    backoff: Backoff = Backoff(),
    redelivery: bool = False,
    flows_loaded: bool = False,
) -> list[Routed]:
    """Route `events` (in store order) and settle their dispatch records: delivered ones
    are deleted; when an event fails, it and its contact's later events are left to the
    dispatcher, with backoff; an event that can never be delivered becomes a dead letter.
    The fast path (not `redelivery`) leaves everything to the dispatcher while the
    breaker is open, so an API answers in milliseconds while Temporal is down."""
    if not events:
        return []
    if not redelivery and router.breaker.is_open():
        # Left to the dispatcher, due at once: it is probing Temporal already.
        await asyncio.to_thread(_due_now, engine, [e.event_id for e in events])
        return []
    ids = [e.event_id for e in events]
    try:
        held, journeys = await asyncio.to_thread(
            _prepare, engine, router, events, ids, flows_loaded
        )
    except Exception as exc:  # noqa: BLE001 - e.g. the catalogue could not be read
        log.warning("dispatch.deferred", events=len(events), error=_describe(exc))
        return []
    queues: dict[str, list[ContactEvent]] = {}
    for event in events:
        if event.contact_id not in held:
            queues.setdefault(event.contact_id, []).append(event)
    gate = asyncio.Semaphore(CONCURRENT_CONTACTS)
    outcomes = await asyncio.gather(
        *(
            _route_in_order(router, queue, journeys.get(contact, []), redelivery, gate)
            for contact, queue in queues.items()
        )
    )
    done = [i for o in outcomes for i, _ in o.routed]
    failed = [i for o in outcomes if o.error and not o.dead for i in o.left]
    dead = [(o.left[0], o.error) for o in outcomes if o.dead]
    # A dead letter stops holding its contact back: the events behind it go at once.
    waiting = [e.event_id for e in events if e.contact_id in held] + [
        i for o in outcomes if o.dead for i in o.left[1:]
    ]
    error = next((o.error for o in outcomes if o.error and not o.dead), None)
    await asyncio.to_thread(_settle, engine, done, failed, waiting, dead, error, backoff)
    if any(o.unreachable for o in outcomes):
        router.breaker.trip()
    elif any(routes for o in outcomes for _, routes in o.routed):
        router.breaker.close()  # Temporal answered a call
    path = "dispatcher" if redelivery else "fast"
    if error:
        log.warning("dispatch.deferred", events=len(failed), error=error)
        ROUTING_DEFERRED.labels(path).inc(len(failed))
    for event_id, reason in dead:
        log.error("dispatch.dead_letter", event_id=event_id, error=reason)
        DEAD_LETTERS.inc()
    for _, routes in (r for o in outcomes for r in o.routed):
        for route in routes or [None]:
            EVENTS_ROUTED.labels(
                bounded(route.outcome if route else "no_journey", ROUTED_OUTCOMES), path
            ).inc()
    routed = {i: r for o in outcomes for i, r in o.routed}
    return [r for i in ids for r in routed.get(i, [])]


def _due_now(engine: Engine, event_ids: list[str]) -> None:
    with engine.begin() as conn:
        dispatches.due_now(conn, event_ids, datetime.now(UTC))


def _prepare(
    engine: Engine, router: Router, events: list[ContactEvent], ids: list[str], flows_loaded: bool
):
    """One read of the catalogue (unless the caller just made it) and one of the journey
    index for the whole batch."""
    if not flows_loaded:
        router.flows.load()
    contacts = {e.contact_id for e in events}
    with engine.connect() as conn:
        held = dispatches.held_back(conn, contacts, ids, datetime.now(UTC))
        return held, index.live_by_contact(conn, contacts)


@dataclass
class _Outcome:
    """One contact's queue: what was routed (event id, routes), and from the failure on,
    what is left to the dispatcher (`dead`: its first event can never be delivered)."""

    routed: list[tuple[str, list[Routed]]] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    error: str | None = None
    dead: bool = False
    unreachable: bool = False


async def _route_in_order(
    router: Router,
    queue: list[ContactEvent],
    journeys: list[index.IndexedJourney],
    redelivery: bool,
    gate: asyncio.Semaphore,
) -> _Outcome:
    outcome = _Outcome()
    async with gate:
        for position, event in enumerate(queue):
            began = time.perf_counter()
            try:
                routed = await router.route_event(event, journeys, redelivery)
            except Exception as exc:  # noqa: BLE001 - any failure leaves the event to retry
                outcome.error = _describe(exc)
                outcome.left = [e.event_id for e in queue[position:]]
                outcome.dead = undeliverable(exc)
                outcome.unreachable = unreachable(exc)
                break
            ROUTING_SECONDS.labels("dispatcher" if redelivery else "fast").observe(
                time.perf_counter() - began
            )
            outcome.routed.append((event.event_id, routed))
            if any(r.outcome == "enrolled" for r in routed):
                # Later events of this contact must reach the journey this one started.
                journeys = (await asyncio.to_thread(router.journeys_of, [event.contact_id])).get(
                    event.contact_id, []
                )
    return outcome


def undeliverable(exc: BaseException) -> bool:
    """Failures that retrying cannot cure: what a journey would be sent is over Temporal's
    limits, Temporal refuses the request itself as invalid (unless for its search
    attributes: registering them cures that), or the event cannot be serialised. Anything
    else (a bug, a database error) is retried, and logged, until fixed."""
    if isinstance(exc, Undeliverable | PydanticSerializationError):
        return True
    return (
        isinstance(exc, RPCError)
        and exc.status == RPCStatusCode.INVALID_ARGUMENT
        and "search attribute" not in exc.message.lower()
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _settle(
    engine: Engine,
    done: list[str],
    failed: list[str],
    waiting: list[str],
    dead: list[tuple[str, str]],
    error: str | None,
    backoff: Backoff,
) -> None:
    """`waiting`: held behind an earlier failed event of their contact (or released by
    a dead letter); due at once, so they go as soon as it has (claim_due keeps order)."""
    if not (done or failed or waiting or dead):
        return
    now = datetime.now(UTC)
    with engine.begin() as conn:
        dispatches.delivered(conn, done)
        dispatches.due_now(conn, waiting, now)
        for event_id, reason in dead:
            dispatches.set_aside(conn, event_id, reason, now)
        if failed:
            dispatches.failed(conn, failed, error or "", now, backoff.initial, backoff.ceiling)


class Dispatcher:
    """Retries pending dispatch records until each is delivered; one per process that
    routes (worker, API, dev stack). Several may run: a claimed row is leased."""

    def __init__(
        self,
        engine: Engine,
        router: Router,
        backoff: Backoff = Backoff(),
        poll: timedelta = timedelta(seconds=1),
        batch: int = 100,
    ):
        self.engine = engine
        self.router = router
        self.backoff = backoff
        self.poll = poll
        self.batch = batch

    @classmethod
    def from_settings(cls, settings, engine: Engine, router: Router) -> "Dispatcher":
        return cls(
            engine,
            router,
            Backoff.from_settings(settings),
            timedelta(seconds=settings.dispatch_poll_seconds),
        )

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
        listener = BELL.listen()
        try:
            await self._loop(stop, listener[1])
        finally:
            BELL.forget(listener)

    async def _loop(self, stop: asyncio.Event, bell: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                taken = await self.deliver_due()
            except Exception:  # noqa: BLE001 - the database may be briefly away too
                log.exception("dispatch.pass_failed")
                taken = 0
            if taken < self.batch:
                await self._sleep(stop, bell)

    async def _sleep(self, stop: asyncio.Event, bell: asyncio.Event) -> None:
        """Until the poll interval passes, the bell rings or a stop, whichever is first."""
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(bell.wait())]
        try:
            await asyncio.wait(
                waits, timeout=self.poll.total_seconds(), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waits:
                waiter.cancel()
            bell.clear()
