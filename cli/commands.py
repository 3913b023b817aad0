"""What the CLI commands do, kept apart from argument parsing. Each imports what it
needs (the worker, routing, the database layer) itself: `dripstone journeys` reads from
Temporal without loading the worker's activities and workflows."""

import asyncio
import contextlib
import signal
import uuid
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from routing.router import Routed
    from settings import Settings


async def send_events(settings: "Settings", raw: list[dict]):
    """Stored even while Temporal is down (a lazy client): routing is then left to the
    dispatcher of the worker or API, which retries until Temporal answers."""
    from codec.client import connect
    from projections.database import open_checked
    from routing.dispatch import Backoff
    from routing.ingestion import ingest_raw
    from routing.router import Router

    engine = open_checked(settings.resolved_database_url)
    client = await connect(settings, lazy=True)
    return await ingest_raw(
        engine,
        Router(client, engine, settings.task_queue, local_sends=settings.local_sends),
        raw,
        Backoff.from_settings(settings),
        settings.max_event_payload_bytes,
        settings.phone_default_region,
    )


async def enroll_manually(settings: "Settings", flow_id: str, contact_id: str) -> "Routed":
    """Start a journey on the live version without looking at the trigger's filters;
    the flow is checked before Temporal is contacted, so a refusal needs no server."""
    from codec.client import connect
    from projections.database import open_checked
    from projections.flow_lifecycle import manual_enrollment_flow
    from routing.router import Router

    engine = open_checked(settings.resolved_database_url)
    with engine.connect() as conn:
        flow = manual_enrollment_flow(conn, flow_id, contact_id)
    client = await connect(settings)
    return await Router(
        client, engine, settings.task_queue, local_sends=settings.local_sends
    ).enroll(flow, contact_id, f"manual-{uuid.uuid4()}", None)


async def show_journeys(
    settings: "Settings", console: Console, contact_id: str | None, flow_id: str | None
) -> bool:
    """False when Temporal cannot be reached (the caller exits non-zero)."""
    from temporalio.service import RPCError

    from codec.client import connect
    from projections.database import open_checked
    from routing.journey_views import list_journeys

    engine = open_checked(settings.resolved_database_url)
    try:
        try:
            client = await asyncio.wait_for(connect(settings), CONNECT_WITHIN)
            rows = await list_journeys(client, contact_id, flow_id)
        except (RuntimeError, TimeoutError, RPCError) as exc:
            console.print(
                f"error: Temporal at {settings.temporal_address} did not answer "
                f"({exc or 'timed out'}); a contact's journeys are also listed from "
                "the journey index, without Temporal, by GET "
                "/v1/contacts/{id}/journeys",
                style="red",
                highlight=False,
            )
            return False
        if not rows:
            console.print("no journeys found")
            return True
        _print_journeys(console, rows, await _journeys_now(settings, engine, client, rows))
        return True
    finally:
        engine.dispose()


async def _journeys_now(settings: "Settings", engine, client, rows) -> dict:
    """workflow id -> (wait, retry) of each running journey (routing/journey_now.py)."""
    from domain.scheduling.zones import Zones
    from routing.journey_now import journeys_now

    return await journeys_now(
        engine,
        client,
        Zones.from_settings(settings),
        [
            (r.workflow_id, r.flow_id, r.flow_version, r.contact_id, r.state)
            for r in rows
            if r.execution_status == "running"
        ],
    )


# Longer than a healthy connect ever takes; the SDK would otherwise retry for a minute.
CONNECT_WITHIN = 10.0


def _print_journeys(console: Console, rows, now: dict) -> None:
    table = Table(title="Journeys")
    for column in ("contact", "flow", "status", "at step", "waiting / retrying", "last outcome"):
        table.add_column(column)
    table.add_column("workflow id", no_wrap=True)
    for row in rows:
        wait, retry = now.get(row.workflow_id, (None, None))
        table.add_row(
            row.contact_id,
            f"{row.flow_id} v{row.flow_version or '?'}",
            row.status,
            row.current_step or "-",
            _now_text(wait, retry),
            _last_outcome(row),
            row.workflow_id,
        )
    console.print(table)


def _last_outcome(row) -> str:
    if not row.trail:
        return "-"
    code = row.state.trail[-1].code if row.state is not None and row.state.trail else None
    return f"{row.trail[-1]} [{code}]" if code else row.trail[-1]


def _now_text(wait, retry) -> str:
    parts = []
    if wait is not None:
        local = f"{wait.until_local:%Y-%m-%d %H:%M} {wait.zone}" if wait.until else ""
        utc = f"{wait.until:%Y-%m-%d %H:%M} UTC" if wait.until else ""
        # The contact's own time, and UTC beside it unless that is the same thing.
        until = f" until {local}" + (f" ({utc})" if utc != local else "") if wait.until else ""
        held = "paused (moves on only when resumed); " if wait.paused else ""
        parts.append(f"{held}{wait.reason}{until}")
    if retry is not None:
        error = f": {retry.last_error}" if retry.last_error else ""
        parts.append(f"retrying {retry.activity} (attempt {retry.attempt}){error}")
    return "; ".join(parts) or "-"


async def run_dev_stack(
    settings: "Settings", console: Console, temporal_bin: str, port: int, ui_port: int, once: bool
) -> None:
    from cli import dev_stack
    from routing.dispatch import Dispatcher
    from routing.router import Router
    from worker import activities_for, build_worker, connect, open_and_migrate

    dev_stack.check_ports_free({"Temporal frontend": port, "Temporal Web UI": ui_port})
    # Its own dev server speaks plain text: TLS settings meant for a cluster do not apply.
    settings = settings.model_copy(
        update={
            "temporal_address": f"127.0.0.1:{port}",
            "temporal_tls": False,
            "temporal_tls_ca_path": None,
            "temporal_tls_cert_path": None,
            "temporal_tls_key_path": None,
            "temporal_tls_server_name": None,
            "temporal_api_key": None,
        }
    )
    console.print(f"starting Temporal dev server ({temporal_bin}), data in {settings.data_dir}/")
    server = dev_stack.start_dev_server(
        temporal_bin, settings.data_dir, port, ui_port, settings.temporal_namespace
    )
    try:
        client = await dev_stack.wait_for_server(lambda: connect(settings), server)
        # The dev stack owns its database: it migrates, as `dripstone db migrate` would.
        engine = open_and_migrate(settings)
        worker = build_worker(client, settings, activities_for(settings, engine, client))
        dispatcher = Dispatcher.from_settings(
            settings,
            engine,
            Router(client, engine, settings.task_queue, local_sends=settings.local_sends),
        )
        stop = asyncio.Event()
        async with worker:
            retries = asyncio.create_task(dispatcher.run(stop))
            try:
                await _seed_and_show(settings, console, client, engine, ui_port)
                if not once:
                    console.print("\nThe dev stack is running. Press Ctrl-C to stop.")
                    await _until_interrupted()
            finally:
                stop.set()
                await retries
    finally:
        server.send_signal(signal.SIGINT)
        with contextlib.suppress(Exception):
            server.wait(timeout=20)
        if server.poll() is None:
            server.kill()


async def _seed_and_show(settings, console, client, engine, ui_port) -> None:
    from sqlalchemy import func, select

    from cli import dev_stack
    from cli.flow_files import load_flow_file
    from projections.flow_catalogue import publish as publish_flow
    from projections.schema import outbox_messages
    from routing.ingestion import ingest_events
    from routing.router import Router

    allowed = settings.webhook_allow_private_targets
    flow, problems = load_flow_file(dev_stack.SAMPLE_FLOW, allow_private_targets=allowed)
    assert flow is not None, problems
    with engine.begin() as conn:
        published = publish_flow(conn, flow, allow_private_targets=allowed)
    console.print(f"published flow {published.id!r} version {published.version}")
    router = Router(client, engine, settings.task_queue, local_sends=settings.local_sends)
    appended, routed = await ingest_events(engine, router, dev_stack.sample_events())
    console.print(
        f"ingested {len(appended)} new events; "
        f"{sum(r.outcome == 'enrolled' for r in routed)} journeys enrolled"
    )
    rows = await _settled_journeys(client, published.id)
    _print_journeys(console, rows, await _journeys_now(settings, engine, client, rows))
    with engine.connect() as conn:
        outboxed = conn.execute(select(func.count()).select_from(outbox_messages)).scalar()
    console.print(f"{outboxed} messages in the local outbox (table outbox_messages)")
    console.print(
        f"Temporal Web UI: http://localhost:{ui_port}/namespaces/"
        f"{settings.temporal_namespace}/workflows"
    )


async def _settled_journeys(client, flow_id: str, timeout: float = 30.0):
    """Journeys move on within a second or two; wait until each is parked on a timer or done."""
    from routing.journey_views import list_journeys

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = await list_journeys(client, flow_id=flow_id)
        settled = rows and all(r.status in ("waiting", "completed", "exited") for r in rows)
        if settled or loop.time() > deadline:
            return rows
        await asyncio.sleep(0.5)


async def _until_interrupted() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
