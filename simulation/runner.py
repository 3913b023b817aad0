"""Playing a simulation: a time-skipping test server of its own, a worker with the
production activities (ports swapped for recorders, see recorders.py), the production
router and dispatcher, all on the throwaway database. Contacts are enrolled at virtual
time zero, events are ingested through routing.ingestion at their virtual times, and
the clock is skipped to the horizon (or until every journey has ended)."""

import asyncio
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import Engine
from temporalio.api.enums.v1 import EventType as HistoryEventType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.events import parse_event
from domain.flow import Flow
from domain.journey import JourneyState, idempotency_key
from domain.scheduling.zones import resolve_zone, zone_attribute
from projections.contacts import load_snapshot
from routing.dispatch import Dispatcher
from routing.ingestion import ingest_events
from routing.router import Router
from settings import Settings
from simulation.flows import reachable_flows
from simulation.recorders import simulation_activities
from simulation.sandbox import copy_decisions, known_contacts, sandbox_in
from simulation.scenario import ScheduledEvent, SimulationRefused, UnknownContact
from simulation.timeline import (
    JourneyTimeline,
    TimelineEntry,
    Timer,
    build,
    messages_by_key,
    variants_by_key,
    visit_results,
)
from telemetry.sdk_metrics import simulation_runtime
from worker import build_worker
from workflows import search_attributes as sa

TEST_SERVER_VERSION = "1.38.0"  # toolchain/test_server.sh
STARTUP_TIMEOUT = timedelta(seconds=30)
# The clock is skipped a day at a time, so a simulation whose journeys all end early
# stops there instead of idling to the horizon.
STRIDE = timedelta(days=1)


@dataclass(frozen=True)
class Plan:
    flow: Flow
    draft: bool
    contact_ids: list[str]
    events: list[ScheduledEvent]
    days: int


def test_server_path(settings: Settings) -> str:
    """DRIPSTONE_TEST_SERVER_BIN, else the wrapper toolchain/test_server.sh caches."""
    cache = Path(
        os.environ.get("DRIPSTONE_CACHE_DIR")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dripstone"
    )
    path = settings.test_server_bin or str(
        cache / f"test-server-{TEST_SERVER_VERSION}" / "temporal-test-server"
    )
    if not os.access(path, os.X_OK):
        raise SimulationRefused(
            "DRIPSTONE_TEST_SERVER_BIN",
            f"{path} is not an executable "
            "time-skipping test server; run toolchain/test_server.sh",
        )
    return path


async def start_server(settings: Settings) -> WorkflowEnvironment:
    # The plain pydantic converter: this server lives for one simulation, on this
    # machine, and is gone with everything in it when the simulation ends.
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=test_server_path(settings),
        test_server_startup_timeout=STARTUP_TIMEOUT,
        runtime=simulation_runtime(),
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={key.name: key.indexed_value_type for key in sa.ALL},
        )
    )
    return env


async def simulate(settings: Settings, source: Engine, plan: Plan) -> list[JourneyTimeline]:
    """One timeline per contact. `source` (the real database) is only read."""
    missing = set(plan.contact_ids) - await asyncio.to_thread(
        known_contacts, source, plan.contact_ids
    )
    if missing:
        raise UnknownContact("contact", f"no contact {sorted(missing)[0]!r} in the database")
    reached = await asyncio.to_thread(_reachable, source, plan.flow)
    with TemporaryDirectory(prefix="dripstone-simulation-") as directory:
        engine = await asyncio.to_thread(
            sandbox_in, Path(directory), source, plan.contact_ids, reached
        )
        try:
            await asyncio.to_thread(copy_decisions, source, engine, plan.flow.id)
            env = await start_server(settings)
            try:
                return await _play(env, engine, settings, plan, reached)
            finally:
                await env.shutdown()
        finally:
            engine.dispose()


def _reachable(source: Engine, flow: Flow) -> list[Flow]:
    with source.connect() as conn:
        return reachable_flows(conn, flow)


async def _play(
    env: WorkflowEnvironment, engine: Engine, settings: Settings, plan: Plan, reached: list[Flow]
) -> list[JourneyTimeline]:
    own = settings.model_copy(update={"task_queue": f"simulation-{uuid.uuid4().hex}"})
    client = env.client
    worker = build_worker(
        client,
        own,
        simulation_activities(own, engine, client, [plan.flow, *reached]),
        counted=False,
    )
    router = Router(client, engine, own.task_queue)
    # Events the journeys append (tags, conversions...) are routed like any other.
    dispatcher = Dispatcher(engine, router, poll=timedelta(milliseconds=100))
    stop = asyncio.Event()
    async with worker:
        routing = asyncio.create_task(dispatcher.run(stop))
        try:
            start = await env.get_current_time()
            journeys = {}
            for number, contact_id in enumerate(plan.contact_ids, 1):
                enrollment = f"simulation-{number}"
                routed = await router.enroll(plan.flow, contact_id, enrollment, None)
                journeys[contact_id] = (routed.workflow_id, enrollment)
            injected = await _inject(env, engine, router, plan, start, settings)
            horizon = start + timedelta(days=plan.days)
            handles = [client.get_workflow_handle(wid) for wid, _ in journeys.values()]
            while await env.get_current_time() < horizon and not await _all_closed(handles):
                await _skip_to(env, min(horizon, await env.get_current_time() + STRIDE))
            horizon = min(horizon, await env.get_current_time())
            return [
                await _timeline(
                    client.get_workflow_handle(wid, result_type=JourneyState),
                    engine,
                    settings,
                    plan,
                    contact_id,
                    enrollment,
                    start,
                    horizon,
                    injected[contact_id],
                )
                for contact_id, (wid, enrollment) in journeys.items()
            ]
        finally:
            stop.set()
            await routing


async def _skip_to(env: WorkflowEnvironment, moment: datetime) -> None:
    gap = moment - await env.get_current_time()
    if gap > timedelta(0):
        await env.sleep(gap)


async def _all_closed(handles: list[WorkflowHandle]) -> bool:
    for handle in handles:
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            return False
    return True


async def _inject(
    env, engine: Engine, router: Router, plan: Plan, start: datetime, settings: Settings
) -> dict[str, list[TimelineEntry]]:
    """Each event, at its moment, for every contact, through the production ingest path."""
    injected: dict[str, list[TimelineEntry]] = {cid: [] for cid in plan.contact_ids}
    for scheduled in plan.events:
        await _skip_to(env, start + scheduled.after)
        at = await env.get_current_time()
        # Dated by the virtual clock, so "in the future" is judged by it too.
        events = [
            parse_event(
                {
                    "event_id": f"simulation-{uuid.uuid4()}",
                    "type": scheduled.type,
                    "contact_id": contact_id,
                    "occurred_at": at,
                    "source": "simulation",
                    "payload": scheduled.payload,
                },
                now=at,
                phone_region=settings.phone_default_region,
            )
            for contact_id in plan.contact_ids
        ]
        _, routed = await ingest_events(engine, router, events)
        for event in events:
            reached = [
                r.outcome
                for r in routed
                if r.event_id == event.event_id and r.outcome != "no_journey"
            ]
            injected[event.contact_id].append(
                TimelineEntry(
                    at=at,
                    kind="event",
                    event_type=event.type,
                    payload=scheduled.payload,
                    outcome=(
                        "reached the journey" if reached else "stored; no running journey to reach"
                    ),
                )
            )
    return injected


async def _timeline(
    handle: WorkflowHandle,
    engine: Engine,
    settings: Settings,
    plan: Plan,
    contact_id: str,
    enrollment: str,
    start: datetime,
    horizon: datetime,
    events: list[TimelineEntry],
) -> JourneyTimeline:
    state, status, ended_how = await _ending(handle, plan.days)
    timers = await _timers(handle)
    with engine.connect() as conn:
        contact = load_snapshot(conn, contact_id, {"attributes"})
    schedule = plan.flow.schedule
    zone, source = resolve_zone(
        zone_attribute(contact.attributes if contact else {}),
        contact.phone if contact else None,
        settings.default_time_zone,
        flow_zone=schedule.time_zone if schedule else None,
        default_region=settings.phone_default_region,
    )
    return build(
        flow=plan.flow,
        draft=plan.draft,
        contact_id=contact_id,
        zone=zone,
        zone_source=source.value,
        enrolled_at=start,
        horizon=horizon,
        state=state,
        status=status,
        ended_how=ended_how,
        key_of=lambda step_id, visit: idempotency_key(handle.id, enrollment, step_id, visit),
        timers=timers,
        messages=await asyncio.to_thread(messages_by_key, engine, contact_id),
        events=events,
        results=await asyncio.to_thread(visit_results, engine, handle.id, enrollment),
        variants=await asyncio.to_thread(variants_by_key, engine, contact_id),
    )


async def _ending(handle: WorkflowHandle, days: int) -> tuple[JourneyState | None, str, str | None]:
    described = await handle.describe()
    if described.status == WorkflowExecutionStatus.COMPLETED:
        state = await handle.result()
        return state, state.status.value, state.exit_reason
    if described.status == WorkflowExecutionStatus.RUNNING:
        state = await handle.query("state", result_type=JourneyState)
        await handle.terminate("the simulation is over")
        return (
            state,
            f"still {state.status.value}",
            (
                f"at step {state.current_step} when the {days} simulated "
                f"{'day' if days == 1 else 'days'} ran out"
            ),
        )
    try:
        await handle.result()
        reason = described.status.name.lower()
    except WorkflowFailureError as exc:
        reason = str(exc.cause or exc)
    try:
        state = await handle.query("state", result_type=JourneyState)
    except Exception:  # noqa: BLE001 - a failed run may not answer queries; the reason is what matters
        state = None
    return state, "failed", reason


async def _timers(handle: WorkflowHandle) -> list[Timer]:
    """The journey's timers, from its history: when each started, was due, and ended."""
    timers: dict[str, Timer] = {}
    converter = pydantic_data_converter.payload_converter
    async for event in handle.fetch_history_events():
        at = event.event_time.ToDatetime(tzinfo=UTC)
        if event.event_type == HistoryEventType.EVENT_TYPE_TIMER_STARTED:
            attributes = event.timer_started_event_attributes
            summary = (
                converter.from_payload(event.user_metadata.summary, str)
                if event.user_metadata.HasField("summary")
                else None
            )
            timers[attributes.timer_id] = Timer(
                started=at,
                due=at + attributes.start_to_fire_timeout.ToTimedelta(),
                summary=summary,
                ended=None,
                fired=False,
            )
        elif event.event_type == HistoryEventType.EVENT_TYPE_TIMER_FIRED:
            timer = timers.get(event.timer_fired_event_attributes.timer_id)
            if timer is not None:
                timer.ended, timer.fired = at, True
        elif event.event_type == HistoryEventType.EVENT_TYPE_TIMER_CANCELED:
            timer = timers.get(event.timer_canceled_event_attributes.timer_id)
            if timer is not None:
                timer.ended = at
    return list(timers.values())
