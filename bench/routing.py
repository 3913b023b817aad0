"""`python -m bench.routing`: does batch ingest keep its rate as flows are published?

On one Temporal dev server, one worker and the HTTP API in a process of its own (as
`bench.enrollment` runs them), in one run (see bench/README.md):

1. events/s through POST /v1/events/batch, routing on, with 1, 10 and 50 live flows.
   The flows are realistic (a wait, then a send_email) but their triggers match none of
   the generated events, and the contacts are fresh, so with routing from the journey
   index no event should cost a Temporal call: the rate should not fall as flows are
   added (target: rate(50) / rate(1) >= 0.9; >= 3,000 events/s on SQLite). Flow counts
   run in rounds that go up then down (1 10 50, 50 10 1, ...): flows are published
   cumulatively on the way up and paused on the way down, so drift on a shared machine
   falls on every count alike. Each measurement sends the same event histories under
   a fresh contact prefix. The median round of each count is reported (with 2 rounds,
   the mean of the up and the down pass), every round shown.
2. event-to-journey wake-up latency p50 / p99 (bench/wakeup.py) with the flows of (1)
   still live (target p99 < 250 ms).

Prints figures only; nothing here asserts on time."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import Engine
from temporalio.client import Client

import worker as production
from bench import api_load, wakeup
from bench.api_server import ApiServer, quiet_logs
from bench.cpu import dev_server_pid, tree_cpu
from bench.enrollment import run_on_dev_server
from bench.routing_figures import Measurement, Options, RoutingBenchResult
from bench.routing_report import render
from domain.flow import Flow, FlowStatus
from dripstone_client import AsyncDripstone
from projections import flow_lifecycle
from projections.flow_catalogue import find_flow, publish
from projections.live_flows import LiveFlows
from routing.router import Router
from settings import Settings

app = typer.Typer(add_completion=False)

# The generated histories are made once under this prefix, then relabelled per measurement.
TEMPLATE = "rtpl0"


def schedule(flow_counts: tuple[int, ...], rounds: int) -> list[tuple[int, int]]:
    """(round, flow count): up, then down, then up..., so drift falls on every count."""
    ordered = sorted(flow_counts)
    return [(r, n) for r in range(1, rounds + 1) for n in (ordered if r % 2 else ordered[::-1])]


def flow_document(prefix: str, n: int) -> dict:
    """A wait then an e-mail, triggered by a custom event no generated event carries
    (the workload's custom events are named trial_extended, invoice_paid...)."""
    return {
        "id": f"{prefix}-flow-{n}",
        "name": f"Bench: routing flow {n}",
        "trigger": {"event": "custom", "where": [{"path": "name", "value": f"bench-flow-{n}"}]},
        "steps": [
            {"id": "pause", "kind": "wait", "delay": "1d"},
            {
                "id": "hello",
                "kind": "send_email",
                "subject": f"Bench flow {n}",
                "body": "An e-mail no bench contact ever reaches.",
            },
        ],
    }


class BenchFlows:
    """The bench's flows in the database: the first k published, the rest paused (or
    not yet published)."""

    def __init__(self, engine: Engine, prefix: str):
        self.engine = engine
        self.prefix = prefix
        self.ids: list[str] = []

    def set_live(self, count: int) -> None:
        with self.engine.begin() as conn:
            while len(self.ids) < count:
                flow = publish(
                    conn, Flow.model_validate(flow_document(self.prefix, len(self.ids) + 1))
                )
                self.ids.append(flow.id)
            for n, flow_id in enumerate(self.ids):
                status = find_flow(conn, flow_id).status
                if n < count and status == FlowStatus.PAUSED:
                    flow_lifecycle.resume(conn, flow_id)
                elif n >= count and status == FlowStatus.PUBLISHED:
                    flow_lifecycle.pause(conn, flow_id)

    def archive(self) -> None:
        """So a reused database does not keep 50 extra live flows."""
        with self.engine.begin() as conn:
            for flow_id in self.ids:
                flow_lifecycle.archive(conn, flow_id)


def relabel(template: list[dict], prefix: str) -> list[dict]:
    """The same histories under fresh contact and event ids (and e-mail addresses)."""
    return json.loads(json.dumps(template).replace(f"{TEMPLATE}-", f"{prefix}-"))


async def ingest(
    api: AsyncDripstone, events: list[dict], *, batch_size: int, lanes: int
) -> tuple[api_load.IngestRun, int]:
    """As api_load.ingest_batches, also counting the journeys the answers say were reached."""
    parts = api_load.lanes_of(events, lanes)
    began = time.perf_counter()
    results = await asyncio.gather(*(api.send_events(p, chunk=batch_size) for p in parts))
    seconds = time.perf_counter() - began
    requests = sum(-(-len(p) // batch_size) for p in parts)
    run = api_load.IngestRun(
        "batch",
        len(events),
        sum(r["appended"] for r in results),
        requests,
        seconds,
        batch_size,
        len(parts),
    )
    return run, sum(len(r["routed"]) for r in results)


def _cpu(pid: int | None) -> float | None:
    return tree_cpu(pid) if pid else None


def _spent(before: float | None, after: float | None) -> float | None:
    return after - before if before is not None and after is not None else None


async def run(
    client: Client,
    engine: Engine,
    database_url: str,
    options: Options,
    *,
    work_dir: Path,
    say: Callable[[str], None] = lambda _: None,
) -> RoutingBenchResult:
    """Everything on `client`'s server and `engine`'s database (which the API process
    opens by `database_url`); ids are unique per run."""
    prefix = f"r{uuid.uuid4().hex[:8]}"
    # The embedded outbox whatever the environment says: a benchmark must never mail anyone.
    settings = Settings(
        _env_file=None,
        task_queue=f"bench-{prefix}",
        email_provider="outbox",
        sms_provider="outbox",
        voice_provider="outbox",
    )
    api_key = secrets.token_urlsafe(24)
    server = ApiServer(
        database_url=database_url,
        temporal_address=client.service_client.config.target_host,
        namespace=client.namespace,
        task_queue=settings.task_queue,
        api_key=api_key,
        log_path=work_dir / "api.log",
        workers=options.api_workers,
    )
    server_pid = dev_server_pid(client.service_client.config.target_host)
    template = api_load.generated_events(TEMPLATE, options.events)
    flows = BenchFlows(engine, prefix)
    live_flows = LiveFlows(engine)
    measurements: list[Measurement] = []
    problems: list[str] = []
    worker = production.build_worker(
        client, settings, production.activities_for(settings, engine, client)
    )
    async with worker:
        router = Router(client, engine, settings.task_queue, local_sends=settings.local_sends)
        base_url = await asyncio.to_thread(server.start)
        try:
            async with AsyncDripstone(base_url, api_key, timeout=300) as api:
                await asyncio.to_thread(flows.set_live, min(options.flow_counts))
                if options.warmup_events:
                    say(f"warm-up: {options.warmup_events:,} events, untimed")
                    await ingest(
                        api,
                        api_load.generated_events(f"{prefix}-wu", options.warmup_events),
                        batch_size=options.batch_size,
                        lanes=options.lanes,
                    )
                plan = schedule(options.flow_counts, options.rounds)
                say(
                    f"1/2 {len(plan)} measurements of {len(template):,} events "
                    f"({options.batch_size}/request, {options.lanes} senders)"
                )
                for round_no, count in plan:
                    await asyncio.to_thread(flows.set_live, count)
                    live = len(await asyncio.to_thread(live_flows.load))
                    events = relabel(template, f"{prefix}-n{count}r{round_no}")
                    api_before, server_before = _cpu(server.process.pid), _cpu(server_pid)
                    ingest_run, routed = await ingest(
                        api, events, batch_size=options.batch_size, lanes=options.lanes
                    )
                    m = Measurement(
                        count,
                        live,
                        round_no,
                        ingest_run,
                        routed,
                        _spent(api_before, _cpu(server.process.pid)),
                        _spent(server_before, _cpu(server_pid)),
                    )
                    measurements.append(m)
                    if routed:
                        problems.append(
                            f"{count} flows, round {round_no}: {routed} journeys "
                            "reached or started (expected none)"
                        )
                    if ingest_run.appended != ingest_run.events:
                        problems.append(
                            f"{count} flows, round {round_no}: "
                            f"{ingest_run.events - ingest_run.appended} of "
                            f"{ingest_run.events} events not appended"
                        )
                    say(
                        f"    round {round_no}, {count:3} flows ({live} live): "
                        f"{ingest_run.events:,} events in {ingest_run.seconds:6.2f} s = "
                        f"{ingest_run.rate:7,.0f} ev/s"
                    )
                await asyncio.to_thread(flows.set_live, max(options.flow_counts))
                say(
                    f"2/2 waking {options.wake_journeys} waiting journeys, one event each, "
                    f"{max(options.flow_counts)} bench flows live"
                )
                wake = await wakeup.measure(
                    api, router, engine, prefix, options.wake_journeys, gap=options.wake_gap
                )
                wake_live = len(await asyncio.to_thread(live_flows.load))
        finally:
            await asyncio.to_thread(server.stop)
            await asyncio.to_thread(flows.archive)
    return RoutingBenchResult(
        engine.dialect.name, options, measurements, wake, wake_live, prefix, problems + wake.missed
    )


@app.command()
def main(
    events: Annotated[int, typer.Option(help="Events per measurement")] = 20_000,
    rounds: Annotated[int, typer.Option(help="Rounds over the flow counts, up then down")] = 2,
    batch_size: Annotated[int, typer.Option(help="Events per batch request (max 1000)")] = 500,
    lanes: Annotated[int, typer.Option(help="Concurrent HTTP senders")] = 4,
    warmup_events: Annotated[int, typer.Option(help="Untimed events sent first")] = 2000,
    wake_journeys: Annotated[int, typer.Option(help="Waiting journeys woken by an event")] = 100,
    wake_gap: Annotated[float, typer.Option(help="Seconds between wake-up events")] = 0.1,
    database_url: Annotated[
        str | None,
        typer.Option(help="Database (default: a temporary SQLite file, deleted after)"),
    ] = None,
    keep: Annotated[
        bool, typer.Option(help="Keep the temporary directory (database, " "API log)")
    ] = False,
    api_workers: Annotated[
        int, typer.Option(help="API processes (`dripstone api " "--workers`)")
    ] = 1,
) -> None:
    """Batch ingest with 1, 10 and 50 live flows; event-to-journey wake-up latency."""
    quiet_logs()
    console = Console()
    options = Options(
        events=events,
        rounds=rounds,
        batch_size=batch_size,
        lanes=lanes,
        warmup_events=warmup_events,
        wake_journeys=wake_journeys,
        wake_gap=wake_gap,
        api_workers=api_workers,
    )
    result = run_on_dev_server(
        run,
        options,
        database_url,
        console,
        prefix="dripstone-routing-bench-",
        keep=keep,
        before=lambda: console.print(_load("at start")),
    )
    console.print(_load("at the end"))
    render(result, console)


def _load(when: str) -> str:
    """Other work on the machine slows every figure: say how busy it was."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return f"machine load {when}: unknown"
    return (
        f"machine load {when}: {one:.1f} (1 min), {five:.1f} (5 min) " f"on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    app()
