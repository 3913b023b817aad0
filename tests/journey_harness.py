"""Running real journeys in tests: real worker, real activities, real database; only
the Temporal server differs (time-skipping or dev server)."""

import asyncio
import uuid
from contextlib import asynccontextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from temporalio.api.workflowservice.v1 import ListOpenWorkflowExecutionsRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain.events import ContactEvent, EventType
from domain.flow import Flow
from domain.journey import JourneyState
from projections.flow_catalogue import publish
from projections.schema import outbox_messages
from routing.dispatch import Dispatcher
from routing.ingestion import ingest_events
from routing.router import Routed, Router
from worker import activities_for, build_worker


def event(
    contact_id: str,
    type: str,
    payload: dict[str, Any] | None = None,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
) -> ContactEvent:
    return ContactEvent(
        event_id=event_id or f"test-{uuid.uuid4()}",
        type=type,
        contact_id=contact_id,
        occurred_at=occurred_at or datetime.now(UTC),
        source="test",
        payload=payload or {},
    )


def contact(
    contact_id: str,
    email: str | None = None,
    phone: str | None = None,
    tags: tuple[str, ...] = (),
    **attributes: Any,
) -> list[ContactEvent]:
    profile = {k: v for k, v in {"email": email, "phone": phone}.items() if v}
    events = [event(contact_id, EventType.CONTACT_CREATED, {**profile, "attributes": attributes})]
    return events + [event(contact_id, EventType.TAG_ADDED, {"tag": t}) for t in tags]


def flow_from(document: dict[str, Any]) -> Flow:
    return Flow.model_validate({"trigger": {"event": "form.submitted"}, **document})


@asynccontextmanager
async def journey_worker(client: Client, engine, settings, **adapters):
    """A worker with its dispatcher, as `python -m worker` runs them: events journeys
    write reach other journeys through dispatch records, as in production."""
    worker = build_worker(client, settings, activities_for(settings, engine, client, **adapters))
    router = Router(client, engine, settings.task_queue, local_sends=settings.local_sends)
    dispatcher = Dispatcher(engine, router, poll=timedelta(milliseconds=100))
    stop = asyncio.Event()
    async with worker:
        retries = asyncio.create_task(dispatcher.run(stop))
        try:
            yield router
        except BaseException:
            # A failed test leaves journeys mid-task on a queue nobody will poll again;
            # on the shared time-skipping server that holds the clock for every later test.
            await terminate_open_journeys(client, settings.task_queue)
            raise
        finally:
            stop.set()
            await retries


async def terminate_open_journeys(client: Client, task_queue: str) -> None:
    listed = await client.workflow_service.list_open_workflow_executions(
        ListOpenWorkflowExecutionsRequest(namespace=client.namespace, maximum_page_size=1000)
    )
    for info in listed.executions:
        if info.task_queue in ("", task_queue):
            handle = client.get_workflow_handle(
                info.execution.workflow_id, run_id=info.execution.run_id
            )
            try:
                await handle.terminate("the test using it failed")
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise


async def send(router: Router, engine, *events: ContactEvent) -> list[Routed]:
    """The production path: append + project + dispatch record, then deliver."""
    _, routed = await ingest_events(engine, router, list(events))
    return routed


async def enroll_and_finish(
    env, router: Router, engine, flow: Flow, contact_id: str, *, allow_private_targets: bool = False
) -> JourneyState:
    """Publish the flow (`allow_private_targets`: the deployment's
    webhook_allow_private_targets, as publishing takes it) and run one contact through it."""
    with engine.begin() as conn:
        published = publish(conn, flow, allow_private_targets=allow_private_targets)
    trigger = event(contact_id, "form.submitted", {"form_id": "signup"})
    routed = await send(router, engine, trigger)
    enrolled = [r for r in routed if r.outcome == "enrolled" and r.flow_id == published.id]
    assert enrolled, routed
    return await journey_result(env, enrolled[0].workflow_id)


CLOSE_POLLS = 5


async def journey_result(env, workflow_id: str) -> JourneyState:
    """Await a journey's end; on the time-skipping server, let time run while waiting
    (handles the router obtained by id do not unlock time skipping by themselves).
    A journey that another journey's event starts appears once the dispatcher has
    routed that event, and the index row is claimed before the start: wait for it."""
    handle = env.client.get_workflow_handle(workflow_id, result_type=JourneyState)
    await started(handle)
    unlocked = env.time_skipping_unlocked() if env.supports_time_skipping else nullcontext()
    async with unlocked:
        for _ in range(CLOSE_POLLS - 1):
            try:
                return await handle.result()
            except RuntimeError as exc:
                # The test server can end a long poll for the close event with an empty
                # page on a loaded machine; the SDK then says this. Ask again.
                if "No completion event found" not in str(exc):
                    raise
        return await handle.result()


async def started(handle, attempts: int = 400) -> None:
    for _ in range(attempts):
        try:
            await handle.describe()
            return
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} never started")


def outbox(engine, contact_id: str | None = None) -> list:
    query = select(outbox_messages).order_by(outbox_messages.c.id)
    if contact_id:
        query = query.where(outbox_messages.c.contact_id == contact_id)
    with engine.connect() as conn:
        return conn.execute(query).all()
