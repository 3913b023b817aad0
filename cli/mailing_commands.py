"""`dripstone mailing ...`: save a mailing document as a draft, preview its audience,
send it, pause, resume or cancel it, and show its counts per step.

Like `flow`, these open the configured database directly (checking its schema, never
migrating it); send, pause, resume and cancel also reach Temporal to start or signal the
mailing's workflow, which the worker runs."""

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.flow_files import FlowFileError, read_flow_document
from cli.output import console, fail

if TYPE_CHECKING:
    from domain.validation import Problem

mailing_app = typer.Typer(
    help="Mailings to whole segments: save, preview, send, follow.", no_args_is_help=True
)
MailingIdArg = Annotated[str, typer.Argument(help="The mailing's id")]
PathArg = Annotated[
    Path, typer.Argument(help="A mailing document (.yaml or .json)", exists=True, dir_okay=False)
]


@contextmanager
def _engine() -> Iterator:
    from projections.database import open_checked
    from projections.mailings import MailingConflict, MailingNotFound
    from settings import Settings

    engine = open_checked(Settings().resolved_database_url)
    try:
        yield engine
    except (MailingNotFound, MailingConflict) as exc:
        fail(str(exc))
    finally:
        engine.dispose()


def _parse(engine, path: Path):
    from domain.validation.mailing import parse_mailing, unknown_contacts_warning
    from projections.contacts import known_fields
    from projections.mailing_audience import unknown_listed
    from settings import Settings

    try:
        document = read_flow_document(path)
    except FlowFileError as exc:
        fail(str(exc))
    with engine.connect() as conn:
        mailing, problems = parse_mailing(
            document,
            known_fields(conn),
            allow_private_targets=Settings().webhook_allow_private_targets,
            known_topics=Settings().topic_ids,
            preference_links=Settings().preference_links_enabled,
        )
        if mailing is not None:
            problems += unknown_contacts_warning(unknown_listed(conn, mailing))
    return document, mailing, problems


def _print_problems(problems: "list[Problem]") -> None:
    for problem in problems:
        console.print(f"  {problem.describe('mailing')}", highlight=False, markup=False)


@mailing_app.command()
def validate(path: PathArg) -> None:
    """Check a mailing document; exit 1 when it has errors."""
    with _engine() as engine:
        _, mailing, problems = _parse(engine, path)
    _print_problems(problems)
    if mailing is None or any(p.severity == "error" for p in problems):
        raise typer.Exit(1)
    console.print(
        f"mailing {mailing.id!r} is valid ({len(mailing.steps)} step(s))", highlight=False
    )


@mailing_app.command()
def save(path: PathArg) -> None:
    """Save the document as the mailing's draft (created, or its draft replaced)."""
    from projections import mailings as catalogue

    with _engine() as engine:
        document, mailing, problems = _parse(engine, path)
        blocking = [p for p in problems if p.severity == "error"]
        if mailing is None or blocking:
            _print_problems(blocking)
            fail(f"{path}: not saved, fix the errors above")
        with engine.begin() as conn:
            outcome = catalogue.save(conn, mailing, document)
    _print_problems(problems)
    console.print(f"mailing {mailing.id!r} {outcome} (draft)", highlight=False)


@mailing_app.command()
def preview(
    mailing_id: MailingIdArg,
    limit: Annotated[int, typer.Option(min=0, help="How many contacts to list")] = 20,
) -> None:
    """How many contacts the main step would reach now, and the first of them."""
    from domain.scheduling.zones import Zones
    from domain.validation.mailing import unknown_contacts_warning
    from projections import mailings as catalogue
    from projections.audience import profiles
    from projections.mailing_audience import preview as audience_preview
    from projections.mailing_audience import unknown_listed
    from settings import Settings

    with _engine() as engine:
        with engine.connect() as conn:
            mailing = catalogue.load(conn, mailing_id)
            unknown = unknown_listed(conn, mailing)
        count, first = audience_preview(
            engine, mailing, limit, zones=Zones.from_settings(Settings())
        )
        shown = profiles(engine, first)
    console.print(f"{count} contact(s) in the audience of mailing {mailing_id!r}", highlight=False)
    _print_problems(unknown_contacts_warning(unknown))
    if shown:
        table = Table("contact", "email", "phone")
        for c in shown:
            table.add_row(c["contact_id"], c["email"] or "", c["phone"] or "")
        console.print(table)


def _lifecycle(action: str, mailing_id: str) -> None:
    from codec.client import connect
    from routing import mailings as lifecycle
    from settings import Settings

    settings = Settings()

    async def run(engine) -> str:
        client = await connect(settings)
        if action == "send":
            return await lifecycle.send(client, engine, mailing_id, task_queue=settings.task_queue)
        return await getattr(lifecycle, action)(client, engine, mailing_id)

    with _engine() as engine:
        try:
            status = asyncio.run(run(engine))
        except RuntimeError as exc:  # Temporal unreachable
            fail(f"Temporal: {exc}")
    console.print(f"mailing {mailing_id!r} is {status}", highlight=False)


@mailing_app.command()
def send(mailing_id: MailingIdArg) -> None:
    """Send the mailing: now, or at its main step's time (it is scheduled until then)."""
    _lifecycle("send", mailing_id)


@mailing_app.command()
def pause(mailing_id: MailingIdArg) -> None:
    """Hold sending after the current batch."""
    _lifecycle("pause", mailing_id)


@mailing_app.command()
def resume(mailing_id: MailingIdArg) -> None:
    """Go on sending a paused mailing."""
    _lifecycle("resume", mailing_id)


@mailing_app.command()
def cancel(mailing_id: MailingIdArg) -> None:
    """Stop the mailing for good; what was sent stays sent."""
    _lifecycle("cancel", mailing_id)


@mailing_app.command("list")
def list_mailings() -> None:
    """Mailings, newest first."""
    from projections import mailings as catalogue

    with _engine() as engine, engine.connect() as conn:
        rows = catalogue.listed(conn)
    table = Table("mailing", "name", "status", "step", "created")
    for row in rows:
        table.add_row(
            row["mailing_id"],
            row["name"] or "",
            row["status"],
            row["current_step"] or "",
            row["created_at"].isoformat(timespec="seconds"),
        )
    console.print(table)


@mailing_app.command()
def show(
    mailing_id: MailingIdArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON")] = False,
) -> None:
    """The mailing's status and its counts per step."""
    from projections import mailings as catalogue
    from projections.mailing_reports import step_counts

    with _engine() as engine, engine.connect() as conn:
        row = catalogue.get(conn, mailing_id)
        counts = step_counts(conn, catalogue.load(conn, mailing_id))
    if as_json:
        # The fields GET /v1/mailings/{id} answers with (its document aside), alike.
        from pydantic_core import to_jsonable_python

        summary = {
            k: row[k]
            for k in (
                "mailing_id",
                "name",
                "status",
                "current_step",
                "created_at",
                "started_at",
                "finished_at",
            )
        }
        print(json.dumps(to_jsonable_python({**summary, "steps": counts})))
        return
    console.print(f"mailing {mailing_id!r}: {row['status']}", highlight=False)
    # One column per step: a chain has a few steps and many counts.
    table = Table("", *(f"{step['step_id']} ({step['channel']})" for step in counts))
    for name in (
        "audience",
        "pending",
        "sent",
        "delivered",
        "opened",
        "clicked",
        "bounced",
        "unsubscribed",
        "converted",
        "failed",
    ):
        table.add_row(name, *(str(step[name]) for step in counts))
    for reason in counts[0]["skipped"]:
        table.add_row(f"skipped: {reason}", *(str(step["skipped"][reason]) for step in counts))
    console.print(table)
