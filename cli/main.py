"""`dripstone`: run the dev stack, publish flows, send events, show journeys."""

import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from cli import commands
from cli.flow_files import FlowFileError, load_flow_file
from domain.events import EventRejected
from settings import Settings

app = typer.Typer(help="Dripstone: durable drip campaigns and customer journeys on Temporal.",
                  pretty_exceptions_show_locals=False,
                  no_args_is_help=True)
flow_app = typer.Typer(help="Validate and publish flows.", no_args_is_help=True)
event_app = typer.Typer(help="Send events.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(flow_app, name="flow")
app.add_typer(event_app, name="event")
app.add_typer(db_app, name="db")
console = Console()
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


@app.command()
def dev(
    temporal_bin: Annotated[str, typer.Option(help="Path to the temporal CLI binary.")] = "temporal",
    port: Annotated[int, typer.Option(help="Temporal frontend port.")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port.")] = 8233,
    once: Annotated[bool, typer.Option(help="Stop after showing the journeys.")] = False,
) -> None:
    """Start the dev server and worker, publish the sample flow, ingest sample events."""
    from cli.dev_stack import PortTaken

    try:
        asyncio.run(commands.run_dev_stack(Settings(), console, temporal_bin, port, ui_port, once))
    except PortTaken as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        console.print("stopped.")


@app.command()
def worker() -> None:
    """Run a journey worker against the configured Temporal server."""
    from worker import main

    asyncio.run(main())


def _load(path: Path):
    try:
        return load_flow_file(path)
    except FlowFileError as exc:
        _fail(str(exc))


@flow_app.command("validate")
def flow_validate(path: Path) -> None:
    """Check a flow file and list its problems."""
    flow, problems = _load(path)
    for problem in problems:
        console.print(f"  {problem}")
    if any(p.severity == "error" for p in problems):
        raise typer.Exit(1)
    console.print(f"[green]ok[/green]: flow {flow.id!r} is valid ({len(flow.steps)} steps)")


@flow_app.command("publish")
def flow_publish(path: Path) -> None:
    """Publish a flow file as a new immutable version."""
    from projections.flow_catalogue import PublishRefused

    flow, problems = _load(path)
    if flow is None:
        _fail("the flow cannot be published:\n" + "\n".join(f"  {p}" for p in problems))
    try:
        published = commands.publish(Settings(), flow)
    except PublishRefused as exc:
        _fail(str(exc))
    console.print(f"published flow {published.id!r} version {published.version}")


@event_app.command("send")
def event_send(
    type: Annotated[str, typer.Option("--type", help="Event type, e.g. form.submitted")],
    contact: Annotated[str, typer.Option("--contact", help="Contact id")],
    payload: Annotated[str, typer.Option(help="JSON object with the event's payload")] = "{}",
    event_id: Annotated[Optional[str], typer.Option("--id", help="Event id (idempotency)")] = None,
    source: Annotated[str, typer.Option(help="Who sent the event")] = "cli",
) -> None:
    """Ingest one event and route it to journeys."""
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        _fail(f"payload: not valid JSON: {exc}")
    raw = {"event_id": event_id or f"cli-{uuid.uuid4()}", "type": type, "contact_id": contact,
           "occurred_at": datetime.now(UTC).isoformat(), "source": source, "payload": data}
    try:
        appended, routed = asyncio.run(commands.send_events(Settings(), [raw]))
    except EventRejected as exc:
        _fail(f"event rejected: {exc}")
    if not appended:
        console.print(f"event {raw['event_id']} was already ingested; nothing to do")
    for item in routed:
        console.print(f"{item.outcome:>14}  {item.workflow_id}")


@app.command()
def journeys(
    contact_id: Annotated[Optional[str], typer.Argument(help="Only this contact")] = None,
    flow: Annotated[Optional[str], typer.Option(help="Only this flow")] = None,
) -> None:
    """Show journeys and where each one is."""
    asyncio.run(commands.show_journeys(Settings(), console, contact_id, flow))


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply database migrations."""
    from worker import open_database

    open_database(Settings())
    console.print("database is up to date")


@db_app.command("rebuild")
def db_rebuild() -> None:
    """Regenerate every read model from the event store."""
    from projections.rebuild import rebuild
    from worker import open_database

    with open_database(Settings()).begin() as conn:
        count = rebuild(conn)
    console.print(f"rebuilt read models from {count} events")


if __name__ == "__main__":
    sys.exit(app())
