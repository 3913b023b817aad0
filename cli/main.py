"""`dripstone`: run the dev stack, publish flows, send events, show journeys.

Only typer and rich are loaded at start: the command groups below are imported when one
of their commands runs (cli/lazy.py), and every command imports the database layer,
Temporal or the domain models it needs inside itself, so `dripstone --help` and
read-only commands start quickly."""

import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer

from cli.lazy import lazy_commands
from cli.output import SchemaCheckedGroup, console
from cli.output import fail as _fail

# name -> (where the Typer app lives, its line in `dripstone --help`)
COMMAND_GROUPS = {
    "flow": ("cli.flow_commands:flow_app", "Draft, publish, pause and inspect flows."),
    "journey": ("cli.journey_control:journey_app", "Pause, resume or stop contacts' journeys."),
    "dispatch": ("cli.dispatch_commands:dispatch_app", "Dead letters: events routing set aside."),
    "mailing": (
        "cli.mailing_commands:mailing_app",
        "Mailings to whole segments: save, preview, send, follow.",
    ),
    "contact": (
        "cli.contact_commands:contact_app",
        "Look at one contact: profile, events, messages.",
    ),
    "temporal": (
        "cli.temporal_commands:temporal_app",
        "Set up a Temporal namespace: register Dripstone's search attributes.",
    ),
}

app = typer.Typer(
    help="Dripstone: durable drip campaigns and customer journeys on Temporal.",
    cls=lazy_commands(SchemaCheckedGroup, COMMAND_GROUPS),
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
)
event_app = typer.Typer(help="Send events.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(event_app, name="event")
app.add_typer(db_app, name="db")


@app.command()
def dev(
    temporal_bin: Annotated[
        str, typer.Option(help="Path to the temporal CLI binary.")
    ] = "temporal",
    port: Annotated[int, typer.Option(help="Temporal frontend port.")] = 7233,
    ui_port: Annotated[int, typer.Option(help="Temporal Web UI port.")] = 8233,
    once: Annotated[bool, typer.Option(help="Stop after showing the journeys.")] = False,
) -> None:
    """Start the dev server and worker, publish the sample flow, ingest sample events."""
    from cli import commands
    from cli.dev_stack import PortTaken
    from settings import Settings

    try:
        asyncio.run(commands.run_dev_stack(Settings(), console, temporal_bin, port, ui_port, once))
    except PortTaken as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        console.print("stopped.")


@app.command()
def api(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="API processes (each with its own " "dispatcher); about one per core."
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API (/v1, provider webhooks, /openapi.json); keys in DRIPSTONE_API_KEYS."""
    import uvicorn

    from codec.converter import codec_for
    from projections.database import open_checked
    from settings import Settings

    # The app factory checks too; checking here first says so without uvicorn's traceback.
    open_checked(Settings().resolved_database_url).dispose()
    codec_for(Settings())  # KeyConfigError: DATABASE_URL without DRIPSTONE_CODEC_KEYS
    # log_config=None: uvicorn's own lines go through the app's logging (JSON in production).
    # access_log=False: its line carries the raw path (contact ids, preference-link tokens)
    # and the client's address; telemetry/http.py writes one by route template instead.
    uvicorn.run(
        "api.app:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


@app.command()
def worker() -> None:
    """Run a journey worker against the configured Temporal server."""
    from worker import main

    asyncio.run(main())


@event_app.command("send")
def event_send(
    type: Annotated[str, typer.Option("--type", help="Event type, e.g. form.submitted")],
    contact: Annotated[str, typer.Option("--contact", help="Contact id")],
    payload: Annotated[str, typer.Option(help="JSON object with the event's payload")] = "{}",
    event_id: Annotated[str | None, typer.Option("--id", help="Event id (idempotency)")] = None,
    source: Annotated[str, typer.Option(help="Who sent the event")] = "cli",
) -> None:
    """Ingest one event and route it to journeys."""
    from cli import commands
    from domain.events import EventRejected
    from settings import Settings

    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        _fail(f"payload: not valid JSON: {exc}")
    raw = {
        "event_id": event_id or f"cli-{uuid.uuid4()}",
        "type": type,
        "contact_id": contact,
        "occurred_at": datetime.now(UTC).isoformat(),
        "source": source,
        "payload": data,
    }
    try:
        appended, routed = asyncio.run(commands.send_events(Settings(), [raw]))
    except EventRejected as exc:
        _fail(f"event rejected: {exc}")
    if not appended:
        console.print(f"event {raw['event_id']} was already ingested; nothing to do")
    elif not routed:
        console.print(
            f"event {raw['event_id']} stored; no journey reached yet (no live flow, "
            "or Temporal unreachable: the worker's dispatcher retries until it answers)"
        )
    for item in routed:
        console.print(f"{item.outcome:>14}  {item.workflow_id}")


@app.command()
def enroll(
    flow_id: Annotated[str, typer.Argument(help="The published flow to enroll the contact in")],
    contact_id: Annotated[str, typer.Argument(help="Contact id")],
) -> None:
    """Enroll a contact by hand, bypassing the trigger's filters (the flow must allow it)."""
    from pydantic import TypeAdapter, ValidationError

    from cli import commands
    from domain.identifiers import ContactId
    from projections.flow_catalogue import CatalogueError
    from settings import Settings

    try:
        contact_id = TypeAdapter(ContactId).validate_python(contact_id)
    except ValidationError as exc:
        _fail(f"contact id {contact_id!r}: {exc.errors()[0]['msg']}")
    settings = Settings()
    try:
        routed = asyncio.run(commands.enroll_manually(settings, flow_id, contact_id))
    except CatalogueError as exc:
        _fail(str(exc))
    except RuntimeError as exc:  # the SDK's "failed client connect"
        _fail(f"cannot reach Temporal at {settings.temporal_address}: {exc}")
    if routed.outcome != "enrolled":
        _fail(
            f"contact {contact_id!r} already has a journey in flow {flow_id!r} "
            "and the flow's re-entry policy does not start another"
        )
    console.print(f"enrolled contact {contact_id!r} in flow {flow_id!r}: {routed.workflow_id}")


@app.command()
def journeys(
    contact_id: Annotated[str | None, typer.Argument(help="Only this contact")] = None,
    flow: Annotated[str | None, typer.Option(help="Only this flow")] = None,
) -> None:
    """Show journeys and where each one is."""
    from cli import commands
    from settings import Settings

    if not asyncio.run(commands.show_journeys(Settings(), console, contact_id, flow)):
        raise typer.Exit(1)


@db_app.command("reindex-journeys")
def db_reindex_journeys() -> None:
    """Record every running journey in the journey index, from Temporal's visibility
    (journeys started before release 0007, or an index that was lost)."""
    from routing.reindex import reindex_journeys
    from settings import Settings
    from worker import connect, open_database

    async def run() -> int:
        settings = Settings()
        engine = open_database(settings)
        try:
            return await reindex_journeys(await connect(settings), engine)
        finally:
            engine.dispose()

    console.print(f"indexed {asyncio.run(run())} running journey(s)")


@db_app.command("migrate")
def db_migrate() -> None:
    """Bring the database schema to this release's revision. Besides `dripstone dev` (and
    `make demo`), which set up their own local database, the only command that migrates:
    the worker, the API and other commands refuse a database that is behind."""
    from projections.database import make_engine, migrate
    from settings import Settings

    engine = make_engine(Settings().resolved_database_url)
    try:
        result = migrate(engine)
    finally:
        engine.dispose()
    console.print(f"revision before: {result.before or 'none (empty database)'}")
    outcome = "migrated" if result.after != result.before else "already up to date"
    console.print(f"revision after:  {result.after} ({outcome})")


@db_app.command("rebuild")
def db_rebuild() -> None:
    """Regenerate every read model from the event store."""
    from projections.database import open_checked
    from projections.rebuild import rebuild
    from settings import Settings

    with open_checked(Settings().resolved_database_url).begin() as conn:
        count = rebuild(conn)
    console.print(f"rebuilt read models from {count} events")


if __name__ == "__main__":
    sys.exit(app())
