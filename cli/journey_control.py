"""`dripstone journey pause|resume|stop`: hold, release or remove one contact in a flow
(every journey it has there, whatever the re-entry suffix), or every contact in it with
--all, as a durable operation (FlowControlWorkflow) whose progress is shown while it
runs. Flow pause/resume/archive use the same signals."""

import asyncio
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from cli.output import console, fail

if TYPE_CHECKING:
    from settings import Settings

journey_app = typer.Typer(help="Pause, resume or stop contacts' journeys.", no_args_is_help=True)

POLL_SECONDS = 0.5


class Signal(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


async def _send(
    settings: "Settings",
    flow_id: str,
    contact_id: str | None,
    signal: str,
    reason: str | None,
    while_status: str | None = None,
) -> int:
    # Imported here, so `dripstone --help` and other commands do not load Temporal's
    # worker side and the database layer.
    from codec.client import connect
    from projections.database import make_engine
    from routing.controls import JourneyControls

    client = await connect(settings)
    engine = make_engine(settings.resolved_database_url)
    try:
        if contact_id is None:
            return await _flow_wide(client, engine, settings, flow_id, signal, reason, while_status)
        return await JourneyControls(client, engine).signal_contact(
            flow_id, contact_id, signal, reason
        )
    finally:
        engine.dispose()


async def _flow_wide(
    client,
    engine,
    settings: "Settings",
    flow_id: str,
    signal: str,
    reason: str | None,
    while_status: str | None = None,
) -> int:
    """Started as a durable operation: it finishes even if this command is interrupted;
    meanwhile its progress query drives a bar (journeys live when it started, signalled)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from projections.journey_index import count_live
    from routing.flow_operations import flow_control_progress, start_flow_control

    with engine.connect() as conn:
        live = count_live(conn, flow_id)
    workflow_id = await start_flow_control(
        client, flow_id, signal, reason, settings.task_queue, while_status=while_status
    )
    console.print(f"{signal} of flow {flow_id!r} running as {workflow_id}", highlight=False)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[pages]} page(s)"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"{signal} {flow_id}", total=live or None, pages=0)
        while True:
            progress = await flow_control_progress(client, workflow_id)
            bar.update(
                task,
                completed=progress.signalled,
                pages=progress.pages,
                total=max(live, progress.signalled) or None,
            )
            if progress.status != "running":
                return progress.signalled
            await asyncio.sleep(POLL_SECONDS)


def control(
    flow_id: str,
    contact_id: str | None,
    signal: str,
    reason: str | None = None,
    while_status: str | None = None,
) -> int:
    """Send the signal and say what happened; the number of journeys reached."""
    from codec.client import is_connect_failure
    from settings import Settings

    settings = Settings()
    try:
        count = asyncio.run(_send(settings, flow_id, contact_id, signal, reason, while_status))
    except RuntimeError as exc:  # Temporal unreachable: the SDK's connect error
        if not is_connect_failure(exc):
            raise
        retry = f"dripstone journey {signal} {flow_id} " + (contact_id or "--all")
        fail(
            f"could not reach Temporal at {settings.temporal_address} to {signal} journeys of "
            f"flow {flow_id!r}: {exc}. Retry with: {retry}"
        )
    except KeyboardInterrupt:
        if contact_id is None:
            console.print("stopped following; the operation carries on in Temporal")
        raise typer.Exit(130) from None
    if contact_id and not count:
        # Nothing was done, as the HTTP route's 404 says: scripts must be able to tell.
        console.print(f"contact {contact_id!r} has no running journey in flow {flow_id!r}")
        raise typer.Exit(1)
    if contact_id:
        console.print(
            f"{signal} sent to {count} journey(s) of contact {contact_id!r} in flow " f"{flow_id!r}"
        )
    else:
        console.print(f"{signal} sent to {count} journey(s) of flow {flow_id!r}")
    return count


def _command(signal: Signal):
    def command(
        flow_id: Annotated[str, typer.Argument(help="The flow.")],
        contact_id: Annotated[str | None, typer.Argument(help="The contact.")] = None,
        all_: Annotated[
            bool,
            typer.Option(
                "--all",
                help="Every running journey of the flow, " "as a durable operation with progress.",
            ),
        ] = False,
        reason: Annotated[str | None, typer.Option(help="Why (stop only).")] = None,
    ) -> None:
        if (contact_id is None) == (not all_):
            fail("name one contact, or pass --all for every journey of the flow")
        control(flow_id, contact_id, signal.value, reason)

    command.__doc__ = {
        Signal.PAUSE: "Hold contacts where they are (timers keep running; see "
        "expired_while_paused).",
        Signal.RESUME: "Release held contacts.",
        Signal.STOP: "Remove contacts from the flow.",
    }[signal]
    return command


for _signal in Signal:
    journey_app.command(_signal.value)(_command(_signal))
