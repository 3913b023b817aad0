"""`dripstone journey pause|resume|stop`: hold, release or remove one contact in a flow,
or every contact in it with --all. Flow pause/resume/archive use the same signals."""

import asyncio
from enum import StrEnum
from typing import Annotated, Optional

import typer

from activities.journey_control import signal_flow_journeys, signal_journey
from cli.output import console, fail
from settings import Settings
from worker import connect

journey_app = typer.Typer(help="Pause, resume or stop contacts' journeys.", no_args_is_help=True)


class Signal(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


async def _send(settings: Settings, flow_id: str, contact_id: str | None, signal: str,
                reason: str | None) -> int:
    client = await connect(settings)
    if contact_id is None:
        return await signal_flow_journeys(client, flow_id, signal, reason)
    return int(await signal_journey(client, flow_id, contact_id, signal, reason))


def control(flow_id: str, contact_id: str | None, signal: str, reason: str | None = None) -> int:
    """Send the signal and say what happened; the number of journeys reached."""
    try:
        count = asyncio.run(_send(Settings(), flow_id, contact_id, signal, reason))
    except RuntimeError as exc:  # Temporal unreachable: the SDK's connect error
        fail(f"could not reach Temporal to {signal} journeys of flow {flow_id!r}: {exc}. "
             f"Retry with: dripstone journey {signal} {flow_id} --all")
    who = f"contact {contact_id!r}" if contact_id else f"{count} running journey(s)"
    if contact_id and not count:
        console.print(f"contact {contact_id!r} has no running journey in flow {flow_id!r}")
    else:
        console.print(f"{signal} sent to {who} of flow {flow_id!r}")
    return count


def _command(signal: Signal):
    def command(
        flow_id: Annotated[str, typer.Argument(help="The flow.")],
        contact_id: Annotated[Optional[str], typer.Argument(help="The contact.")] = None,
        all_: Annotated[bool, typer.Option("--all", help="Every running journey of the flow.")] = False,
        reason: Annotated[Optional[str], typer.Option(help="Why (stop only).")] = None,
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
