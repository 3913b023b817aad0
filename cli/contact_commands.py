"""`dripstone contact ...`: one contact as the read models see it, its events and the
messages sent to it, newest first, a page at a time. The same data as GET
/v1/contacts/{id}, .../events and .../messages, read straight from the configured
database (its schema checked, never migrated); `--json` prints what the API answers.
Piped, the tables keep whole rows (cli/output.py's console is unlimited there)."""

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from cli.flow_support import catalogue
from cli.output import console, fail

contact_app = typer.Typer(
    help="Look at one contact: profile, events, messages.", no_args_is_help=True
)

ContactArg = Annotated[str, typer.Argument(help="The contact's id")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (as the API answers).")]
LimitOption = Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")]
CursorOption = Annotated[
    str | None, typer.Option(help="Where the page before ended " "(printed under it).")
]


def _page(contact_id: str, kind: str, limit: int, cursor: str | None):
    from projections import contact_history as history

    read = history.contact_events if kind == "events" else history.contact_messages
    with catalogue() as conn:
        if not history.known(conn, contact_id):
            fail(f"there is no contact {contact_id!r}")
        try:
            return read(conn, contact_id, limit, cursor)
        except history.BadCursor as exc:
            fail(f"--cursor: {exc}")


def _json(data: Any) -> None:
    def encode(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    typer.echo(json.dumps(data, default=encode, ensure_ascii=False, indent=2))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def _cell(value: Any) -> Text:
    # Text, not a str: contact data may hold [brackets] that rich would read as markup.
    if value is None:
        return Text("")
    if isinstance(value, str):
        return Text(value)
    return Text(json.dumps(value, ensure_ascii=False, default=str))


def _more(command: str, contact_id: str, next_cursor: str | None) -> None:
    if next_cursor is not None:
        console.print(
            f"older: dripstone contact {command} {contact_id} --cursor {next_cursor}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@contact_app.command("show")
def show(contact_id: ContactArg, as_json: JsonOption = False) -> None:
    """The contact: email, phone, attributes, tags, subscriptions, products, opt-outs."""
    from projections.contact_history import contact_view

    with catalogue() as conn:
        view = contact_view(conn, contact_id)
    if view is None:
        fail(f"there is no contact {contact_id!r}")
    if as_json:
        _json(view)
        return
    table = Table("", "", title=f"Contact {contact_id}", show_header=False)
    plans = [
        f"{plan} ({'active' if on else 'ended'})"
        for plan, on in sorted(view["subscriptions"].items())
    ]
    for label, value in (
        ("email", view["email"]),
        ("phone", view["phone"]),
        ("tags", ", ".join(view["tags"])),
        ("subscriptions", ", ".join(plans)),
        ("products", ", ".join(view["products"])),
        ("unsubscribed from", ", ".join(view["unsubscribed"])),
        (
            "topics left",
            "; ".join(
                f"{channel}: {', '.join(topics)}"
                for channel, topics in view["unsubscribed_topics"].items()
            ),
        ),
        ("first seen (UTC)", _when(view["created_at"])),
        ("last active (UTC)", _when(view["last_active_at"])),
    ):
        table.add_row(label, _cell(value))
    for name, value in sorted(view["attributes"].items()):
        table.add_row(Text(f"attribute {name}"), _cell(value))
    console.print(table)


@contact_app.command("events")
def events(
    contact_id: ContactArg,
    limit: LimitOption = 50,
    cursor: CursorOption = None,
    as_json: JsonOption = False,
) -> None:
    """The contact's events, newest first (in the order they were stored), with payloads."""
    page = _page(contact_id, "events", limit, cursor)
    if as_json:
        _json({"events": page.items, "next": page.next})
        return
    table = Table(
        "occurred (UTC)", "type", "source", "event id", "payload", title=f"Events of {contact_id}"
    )
    for event in page.items:
        table.add_row(
            _when(event["occurred_at"]),
            _cell(event["type"]),
            _cell(event["source"]),
            _cell(event["event_id"]),
            _cell(event["payload"]),
        )
    console.print(table)
    _more("events", contact_id, page.next)


@contact_app.command("messages")
def messages(
    contact_id: ContactArg,
    limit: LimitOption = 50,
    cursor: CursorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Messages sent (or tried) to the contact, newest first: channel, flow and step,
    status, subject or text (when the outbox stored it), SMS segments, provider id."""
    page = _page(contact_id, "messages", limit, cursor)
    if as_json:
        _json({"messages": page.items, "next": page.next})
        return
    table = Table(
        "when (UTC)",
        "channel",
        "step",
        "status",
        "subject / text",
        "sms",
        "provider id",
        title=f"Messages to {contact_id}",
    )
    for message in page.items:
        table.add_row(
            _when(message["sent_at"] or message["created_at"]),
            _cell(message["channel"]),
            _cell(_step(message)),
            _status(message),
            _cell(message["subject"] or message["text"]),
            _cell(_sms(message)),
            _cell(message["provider_message_id"]),
        )
    console.print(table)
    _more("messages", contact_id, page.next)


def _step(message: dict) -> str:
    """flow/step (or mailing/step); a send that never went out has no sent record to
    say, so its key (which names them) stands in."""
    owner = message["flow_id"] or message["mailing_id"]
    step = message["step_id"]
    return f"{owner}/{step}" if owner and step else step or owner or message["message_key"]


def _status(message: dict) -> Text:
    detail = message["detail"]
    return Text(f"{message['status']}: {detail}" if detail else message["status"])


def _sms(message: dict) -> str:
    if message["segments"] is None:
        return ""
    parts = "segment" if message["segments"] == 1 else "segments"
    return f"{message['segments']} {parts}, {message['encoding']}"
