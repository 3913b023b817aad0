"""`dripstone dispatch list | retry | skip`: the dead letters of routing (dispatches set
aside because retrying could not cure them), and what to do with them once the cause is
fixed. The same actions as /v1/dispatch/dead-letters."""

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from cli.output import console, err, fail

dispatch_app = typer.Typer(help="Dead letters: events routing set aside.", no_args_is_help=True)

EventIdsArg = Annotated[list[str], typer.Argument(help="Event ids of dead letters.")]


def _engine():
    from projections.database import open_checked
    from settings import Settings

    return open_checked(Settings().resolved_database_url)


def _counts_line(waiting: int, failing: int, dead: int) -> str:
    return f"{waiting} waiting to be routed ({failing} failing), {dead} dead letter(s)"


@dispatch_app.command("list")
def list_dead(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many to show.")] = 100,
    after: Annotated[
        int,
        typer.Option(
            min=0, help="Only after this store position " "(the last one of the page before)."
        ),
    ] = 0,
) -> None:
    """Show dead letters, oldest first, and how many events wait to be routed."""
    from projections.dispatches import dead_letters, pending

    engine = _engine()
    try:
        with engine.connect() as conn:
            letters = dead_letters(conn, limit=limit + 1, after_position=after)
            counts = pending(conn)
    finally:
        engine.dispose()
    more, letters = len(letters) > limit, letters[:limit]
    if letters:
        table = Table(title="Dead letters")
        table.add_column("event id", no_wrap=True)
        for column in ("contact", "type", "attempts", "reason", "dead since"):
            table.add_column(column)
        for letter in letters:
            # Text, not markup: ids and errors may hold [brackets].
            table.add_row(
                Text(letter.event_id),
                Text(letter.contact_id),
                Text(letter.type),
                str(letter.attempts),
                Text(letter.reason),
                letter.dead_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            )
        console.print(table)
        if more:
            console.print(
                f"more after position {letters[-1].position}: "
                f"dripstone dispatch list --after {letters[-1].position}",
                highlight=False,
            )
    else:
        console.print("no dead letters" + (f" after position {after}" if after else ""))
    console.print(_counts_line(*counts), highlight=False)


def _act(event_ids: list[str], verb: str, action) -> None:
    engine = _engine()
    try:
        handled = action(engine, event_ids)
    finally:
        engine.dispose()
    for event_id in handled.done:
        console.print(f"{verb} {event_id}", markup=False, highlight=False)
    for event_id in handled.not_dead:
        err.print(f"not a dead letter: {event_id}", markup=False, highlight=False)
    if handled.not_dead:
        fail(
            f"{len(handled.not_dead)} of {len(handled.done) + len(handled.not_dead)} "
            "event id(s) are not dead letters (see `dripstone dispatch list`)"
        )


@dispatch_app.command("retry")
def retry(event_ids: EventIdsArg) -> None:
    """Put dead letters back in line, due at once (after fixing what failed them)."""
    from routing.dead_letters import retry as retry_dead

    _act(event_ids, "retrying", retry_dead)


@dispatch_app.command("skip")
def skip(event_ids: EventIdsArg) -> None:
    """Give up on dead letters: the events stay stored and projected, never routed."""
    from routing.dead_letters import skip as skip_dead

    _act(event_ids, "skipped", skip_dead)
