"""`python -m bench.enrollment`: on one Temporal dev server, one worker (with the
dispatcher `python -m worker` runs beside it, bench/bench_worker.py) and one HTTP API
process, measure in the same run (see bench/README.md):

1. journeys/s enrolling N contacts into a 3-step flow, next to a bare workflow running
   the same activities (bench/enroll_load.py), history events per step of each
   (bench/history_cost.py), and the time 1M contacts would take;
2. events/s through POST /v1/events/batch and POST /v1/events (bench/api_load.py);
3. event-to-journey wake-up latency, p50 / p99 (bench/wakeup.py).

Prints figures only; nothing here asserts on time."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bench import api_load, enroll_load, wakeup
from bench.api_server import ROOT, ApiServer, quiet_logs
from bench.bare_workflow import BareWorkflow
from bench.bench_worker import production_worker
from bench.cpu import dev_server_pid
from bench.enrollment_report import render
from bench.history_cost import load, save
from codec.converter import data_converter
from codec.keys import new_key
from dripstone_client import AsyncDripstone
from projections.database import make_engine, migrate
from settings import Settings
from workflows import search_attributes as sa

app = typer.Typer(add_completion=False)


@dataclass
class Options:
    contacts: int = 2000
    rounds: int = 8
    concurrency: int = 50
    warmup: int = 20
    batch_events: int = 10_000
    single_events: int = 1000
    batch_size: int = 500
    lanes: int = 4
    wake_journeys: int = 100
    wake_gap: float = 0.1
    history_sample: int = 20
    api: bool = True  # parts 2 and 3 (the API process); off: journeys/s and history only


@dataclass
class EnrollmentBenchResult:
    dialect: str
    options: Options
    enrollment: enroll_load.EnrollmentFigures
    ingest: list[api_load.IngestRun]
    wake: wakeup.WakeFigures


async def run(
    client: Client,
    engine: Engine,
    database_url: str,
    options: Options,
    *,
    work_dir: Path,
    say: Callable[[str], None] = lambda _: None,
) -> EnrollmentBenchResult:
    """Everything on `client`'s server and `engine`'s database (which the API process
    opens by `database_url`); ids are unique per run, so a shared server is fine."""
    prefix = f"b{uuid.uuid4().hex[:8]}"
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
    )
    async with production_worker(
        client, settings, engine, extra_workflows=(BareWorkflow,)
    ) as router:
        say(f"1/3 enrolling {options.contacts:,} journeys and {options.contacts:,} bare runs")
        enrollment = await enroll_load.measure(
            router,
            engine,
            prefix,
            options.contacts,
            rounds=options.rounds,
            concurrency=options.concurrency,
            warmup=options.warmup,
            server_pid=dev_server_pid(client.service_client.config.target_host),
            history_sample=options.history_sample,
            progress=lambda r: say(
                f"    {r.variant:7} {r.count:6,} in {r.seconds:7.2f} s = "
                f"{r.rate:7.1f}/s, {1000 * r.cpu_here / r.count:5.1f} ms "
                "CPU per run here"
            ),
        )
        if not options.api:
            return EnrollmentBenchResult(
                engine.dialect.name, options, enrollment, [], wakeup.WakeFigures([], [], [])
            )
        base_url = await asyncio.to_thread(server.start)
        try:
            async with AsyncDripstone(base_url, api_key, timeout=300) as api:
                say(
                    f"2/3 ingesting ~{options.batch_events:,} + ~{options.single_events:,} "
                    "events through the API"
                )
                ingest = await api_load.measure(
                    api,
                    prefix,
                    batch_events=options.batch_events,
                    single_events=options.single_events,
                    batch_size=options.batch_size,
                    lanes=options.lanes,
                )
                say(f"3/3 waking {options.wake_journeys} waiting journeys, one event each")
                wake = await wakeup.measure(
                    api, router, engine, prefix, options.wake_journeys, gap=options.wake_gap
                )
        finally:
            await asyncio.to_thread(server.stop)
    return EnrollmentBenchResult(engine.dialect.name, options, enrollment, ingest, wake)


def temporal_binary() -> str:
    """As the tests find it: DRIPSTONE_TEMPORAL_BIN, else the toolchain's script."""
    path = os.environ.get("DRIPSTONE_TEMPORAL_BIN")
    if path:
        return path
    return subprocess.run(
        ["bash", str(ROOT / "toolchain" / "temporal_cli.sh")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def share_codec_key() -> None:
    """Every Temporal client of a run (this process's worker and router, the API
    process's) must encrypt and decrypt alike, as a deployment's processes share
    DRIPSTONE_CODEC_KEYS: unless that is set, one fresh key for the run, in the
    environment the API process inherits."""
    os.environ.setdefault("DRIPSTONE_CODEC_KEYS", json.dumps({"bench-1": new_key()}))


async def start_dev_server() -> WorkflowEnvironment:
    share_codec_key()
    return await WorkflowEnvironment.start_local(
        data_converter=data_converter(Settings()),
        dev_server_existing_path=temporal_binary(),
        dev_server_startup_timeout=timedelta(seconds=60),
        search_attributes=sa.ALL,
        dev_server_log_level="error",
    )


def run_on_dev_server(
    run,
    options,
    database_url: str | None,
    console: Console,
    *,
    prefix: str,
    keep: bool,
    before=lambda: None,
):
    """A temporary work folder (database unless `database_url`, API log) and a dev
    server of the bench's own; `run(client, engine, database_url, options, work_dir=,
    say=)` measures on them. Shared by the benches in this folder."""
    work_dir = Path(tempfile.mkdtemp(prefix=prefix))

    async def main():
        url = database_url or f"sqlite:///{work_dir / 'bench.db'}"
        engine = make_engine(url)
        try:
            migrate(engine)
            console.print(f"database: {engine.url.render_as_string(hide_password=True)}")
            before()
            env = await start_dev_server()
            try:
                return await run(
                    env.client, engine, url, options, work_dir=work_dir, say=console.print
                )
            finally:
                await env.shutdown()
        finally:
            engine.dispose()

    try:
        return asyncio.run(main())
    finally:
        if keep:
            console.print(f"kept: {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


@app.command()
def main(
    contacts: Annotated[int, typer.Option(help="Journeys to enroll (as many bare runs)")] = 2000,
    rounds: Annotated[int, typer.Option(help="Rounds per variant, alternated J B, B J, ...")] = 8,
    concurrency: Annotated[int, typer.Option(help="Start requests in flight at once")] = 50,
    warmup: Annotated[int, typer.Option(help="Untimed runs of each variant first")] = 20,
    batch_events: Annotated[int, typer.Option(help="Events sent to /v1/events/batch")] = 10_000,
    single_events: Annotated[int, typer.Option(help="Events sent one by one to /v1/events")] = 1000,
    batch_size: Annotated[int, typer.Option(help="Events per batch request (max 1000)")] = 500,
    lanes: Annotated[int, typer.Option(help="Concurrent HTTP senders")] = 4,
    wake_journeys: Annotated[int, typer.Option(help="Waiting journeys woken by an event")] = 100,
    wake_gap: Annotated[float, typer.Option(help="Seconds between wake-up events")] = 0.1,
    history_sample: Annotated[
        int, typer.Option(help="Runs of each variant whose history events are counted")
    ] = 20,
    save_to: Annotated[
        Path | None,
        typer.Option("--save", help="Write the enrollment figures to this JSON file"),
    ] = None,
    before: Annotated[
        Path | None,
        typer.Option(help="Figures saved by an earlier run (--save), shown as 'before'"),
    ] = None,
    api: Annotated[
        bool, typer.Option(help="Also measure API ingest and wake-up (--no-api: journeys/s only)")
    ] = True,
    database_url: Annotated[
        str | None,
        typer.Option(help="Database (default: a temporary SQLite file, deleted after)"),
    ] = None,
    keep: Annotated[
        bool, typer.Option(help="Keep the temporary directory (database, " "API log)")
    ] = False,
) -> None:
    """Enrollment throughput vs a bare workflow, API ingest rate, wake-up latency."""
    quiet_logs()
    console = Console()
    options = Options(
        contacts,
        rounds,
        concurrency,
        warmup,
        batch_events,
        single_events,
        batch_size,
        lanes,
        wake_journeys,
        wake_gap,
        history_sample,
        api,
    )
    earlier = load(before) if before is not None else None  # read first: fail before the run
    result = run_on_dev_server(
        run, options, database_url, console, prefix="dripstone-enroll-bench-", keep=keep
    )
    render(result, console, before=earlier)
    if save_to is not None:
        save(result, save_to)
        console.print(f"figures saved: {save_to}")


if __name__ == "__main__":
    app()
