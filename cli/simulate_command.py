"""`dripstone flow simulate FLOW --contact ID | --sample K`: play a flow on Temporal's
time-skipping test server against a throwaway copy of the contact's data, and print
what would happen, when, in the contact's own time zone. Nothing is sent and the real
database is only read (simulation/)."""

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated

import typer

from cli.flow_support import FlowIdArg, known_scripts
from cli.output import console, fail

WHEN = "%a %Y-%m-%d %H:%M"


def simulate(
    flow_id: FlowIdArg,
    contact: Annotated[
        str | None, typer.Option("--contact", help="The contact to play the flow for")
    ] = None,
    version: Annotated[
        int | None,
        typer.Option("--version", min=1, help="A published version (default: the live one)"),
    ] = None,
    draft: Annotated[bool, typer.Option("--draft", help="Play the saved draft instead")] = False,
    events: Annotated[
        Path | None,
        typer.Option(
            "--events",
            help="YAML or JSON list of {type, payload, after: 3h}: events injected that long after enrollment",
        ),
    ] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=365, help="Virtual days to play")] = 30,
    as_json: Annotated[
        bool, typer.Option("--json", help="The timeline (or sample report) as JSON")
    ] = False,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample",
            min=1,
            max=1000,
            help="Play K contacts drawn from the flow's audience; print per step how many reach it and get its messages",
        ),
    ] = None,
) -> None:
    """Simulate a flow for one contact (or a sample of its audience): nothing is sent."""
    import logging

    import structlog

    from domain.events import EventRejected
    from projections.database import open_checked
    from projections.flow_catalogue import CatalogueError
    from settings import Settings
    from simulation.scenario import SimulationRefused, read_events_file
    from simulation.service import simulate_flow

    if draft and version is not None:
        fail("give either --version or --draft, not both")
    if contact is not None and sample is not None:
        fail("give --contact ID or --sample K, not both")
    if contact is None and sample is None:
        fail("give --contact ID, or --sample K for a sample of the flow's audience")
    settings = Settings()
    try:
        scheduled = read_events_file(events, days, settings.phone_default_region) if events else []
    except EventRejected as exc:
        # A problem with the file itself names no field inside it: no second "--events".
        fail(
            f"--events {events}: "
            + "; ".join(r if f == "--events" else f"{f}: {r}" for f, r in exc.problems)
        )
    # The journeys' own log lines (messages outboxed...) would bury the timeline.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    engine = open_checked(settings.resolved_database_url)
    started = time.monotonic()
    try:
        result = asyncio.run(
            simulate_flow(
                settings,
                engine,
                flow_id,
                version=version,
                draft=draft,
                contact_id=contact,
                sample=sample,
                events=scheduled,
                days=days,
                known_scripts=known_scripts(),
            )
        )
    except (CatalogueError, SimulationRefused) as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    if as_json:
        console.print_json(result.model_dump_json(exclude_none=True))
        return
    show = _show_sample if sample is not None else _show_timeline
    show(result)
    how_far = _sample_reach(result) if sample is not None else _timeline_reach(result, days)
    console.print(
        f"{how_far} (in {time.monotonic() - started:.1f}s); nothing was sent",
        style="dim",
        highlight=False,
    )


def _timeline_reach(timeline, days: int) -> str:
    """How far the clock went and why it stopped: the journey's end, or the horizon."""
    from datetime import timedelta

    from domain.durations import format_duration

    if timeline.status.startswith("still"):
        return (
            f"simulated the full {_days(days)}; the journey was {timeline.status} at "
            f"step {timeline.current_step} when they ran out"
        )
    ended = next(e.at for e in reversed(timeline.entries) if e.kind == "ended")
    played = (ended - timeline.enrolled_at) // timedelta(minutes=1) * timedelta(minutes=1)
    return (
        f"simulated {format_duration(played)} of {_days(days)}: the journey "
        f"{timeline.status} there, so the simulation stopped"
    )


def _sample_reach(report) -> str:
    still = sum(n for status, n in report.endings.items() if status.startswith("still"))
    if still:
        return (
            f"simulated the full {_days(report.days)}; {still} of {report.sampled} "
            "journey(s) still running when they ran out"
        )
    return f"simulated until every sampled journey had ended, within {_days(report.days)}"


def _days(days: int) -> str:
    return "1 virtual day" if days == 1 else f"{days} virtual days"


def _line(text: str, style: str | None = None) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True, style=style)


def _show_timeline(timeline) -> None:
    from simulation.timeline import elapsed

    label = "draft" if timeline.draft else f"v{timeline.flow_version}"
    _line(
        f"flow {timeline.flow_id} {label}, contact {timeline.contact_id}; times in "
        f"{timeline.zone} (from the contact's {timeline.zone_source})"
        if timeline.zone_source in ("attribute", "phone")
        else f"flow {timeline.flow_id} {label}, contact {timeline.contact_id}; times in "
        f"{timeline.zone} (the {timeline.zone_source} zone)",
        style="bold",
    )
    start = timeline.enrolled_at
    for entry in timeline.entries:
        head = f"{elapsed(start, entry.at):>10}  {entry.at.strftime(WHEN)}  {entry.kind:<8} "
        _line(head + _describe(entry))
        pad = " " * len(head)
        for message in entry.messages:
            _line(pad + "  " + _message_head(message), style="cyan")
            for text_line in message.body.splitlines() or [""]:
                _line(pad + "  | " + text_line)


def _describe(entry) -> str:
    if entry.kind == "step":
        return f"{entry.step_id} ({entry.step_kind}): {entry.outcome}" + _counted(entry)
    if entry.kind == "wait":
        until = entry.until.strftime(WHEN) if entry.until else "?"
        ended = (
            f"ended {entry.ended_at.strftime(WHEN)} ({entry.ended_by})"
            if entry.ended_at
            else entry.ended_by
        )
        return f"{entry.name}: until {until}; {ended}"
    if entry.kind == "event":
        return f"{entry.event_type} {json.dumps(entry.payload)}: {entry.outcome}"
    return entry.outcome or ""


def _counted(entry) -> str:
    """How the step counts: its variant, or why it was skipped (holdout, a topic opt-out)."""
    tags = []
    if entry.variant:
        tags.append(f"variant {entry.variant} ({entry.variant_phase})")
    if entry.result in ("skipped", "exited", "failed") and entry.reason:
        tags.append(f"{entry.result}: {entry.reason}")
    return f" [{'; '.join(tags)}]" if tags else ""


def _message_head(message) -> str:
    if message.channel == "sms":
        parts = "segment" if message.segments == 1 else "segments"
        return f"SMS to {message.to} ({message.segments} {parts}, {message.encoding})"
    if message.channel == "email":
        return f"email to {message.to}: {message.subject}"
    return f"{message.channel} to {message.to}" + (
        f": {message.subject}" if message.subject else ""
    )


def _show_sample(report) -> None:
    from rich.table import Table

    label = "draft" if report.draft else f"v{report.flow_version}"
    _line(
        f"flow {report.flow_id} {label}: {report.sampled} contacts sampled from an audience "
        f"of {report.audience}, {report.days} virtual days",
        style="bold",
    )
    table = Table("step", "kind", "reached", "messages")
    for step in report.steps:
        sent = ", ".join(f"{channel} {count}" for channel, count in sorted(step.messages.items()))
        table.add_row(step.step_id, step.kind, str(step.reached), sent or "-")
    console.print(table)
    for step in report.steps:
        counted = [f"variant {name} {n}" for name, n in step.variants.items()] + [
            f"skipped {reason} {n}" for reason, n in step.skipped.items()
        ]
        if counted:
            _line(f"  {step.step_id}: " + ", ".join(counted))
    _line(
        "endings: "
        + ", ".join(f"{status} {count}" for status, count in sorted(report.endings.items()))
    )
