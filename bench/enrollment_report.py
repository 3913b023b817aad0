"""The enrollment benchmark's figures as tables, each next to its target, and next to
an earlier run's figures ("before", saved with --save) when given."""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console
from rich.table import Table

# Issue 14: a journey (short steps as local activities, search attributes upserted only
# on change) runs at least twice the rate of a plain workflow calling the same three
# activities as regular activities.
RATIO_TARGET = 2.0
MILLION = 1_000_000


def _verdict(ok: bool) -> str:
    return "[green]met[/green]" if ok else "[red]not met[/red]"


def _duration(seconds: float) -> str:
    if seconds <= 0:
        return "-"
    return str(timedelta(seconds=round(seconds)))


def render(result, console: Console, before: dict | None = None) -> None:
    e = result.enrollment
    table = Table(
        title=f"Dripstone enrollment benchmark on {result.dialect}: "
        f"{e.count('journey'):,} journeys vs {e.count('bare'):,} bare runs "
        f"(3 steps: send_email, add_tag, send_sms)"
    )
    for name, justify in (
        ("Figure", "left"),
        ("Value", "right"),
        ("Target", "right"),
        ("", "left"),
    ):
        table.add_column(name, justify=justify)
    table.add_row("Journeys (enroll -> completed)", f"{e.rate('journey'):,.1f} /s", "", "")
    table.add_row("Bare workflow, same activities (regular)", f"{e.rate('bare'):,.1f} /s", "", "")
    table.add_row(
        "  ratio journeys / bare",
        f"{e.ratio:.2f}",
        f">= {RATIO_TARGET}",
        _verdict(e.ratio >= RATIO_TARGET)
        + (f" (before: {before['ratio']:.2f}, {before['code']})" if before else ""),
    )
    for where, label in (("here", "worker process"), ("server", "dev server")):
        journey, bare = e.cpu_ms("journey", where), e.cpu_ms("bare", where)
        if journey is not None and bare is not None:
            table.add_row(
                f"  CPU per run, {label}: journey / bare",
                f"{journey:,.1f} / {bare:,.1f} ms",
                "",
                "",
            )
    if e.cpu_ratio is not None:
        table.add_row(
            "  CPU ratio bare / journey (both)",
            f"{e.cpu_ratio:.2f}",
            "",
            "steadier than wall time on a shared machine",
        )
    rate = e.rate("journey")
    table.add_row(
        "1M contacts enrolled, extrapolated",
        _duration(MILLION / rate if rate else 0),
        "",
        "at the journey rate above",
    )
    for run in result.ingest:
        label = (
            f"API ingest, POST /v1/events/batch ({run.batch_size}/request)"
            if run.endpoint == "batch"
            else "API ingest, POST /v1/events (1/request)"
        )
        table.add_row(
            label, f"{run.rate:,.0f} ev/s", "", f"{run.events:,} events, {run.lanes} senders"
        )
    wake = result.wake
    for which, label in (
        ("wake_ms", "Wake-up: event POSTed -> next action"),
        ("accepted_ms", "  POST /v1/events answered (202)"),
    ):
        summary = wake.summary(which)
        if summary:
            table.add_row(
                f"{label}, p50 / p99",
                f"{summary['p50']:,.0f} / {summary['p99']:,.0f} ms",
                "",
                f"max {summary['max']:,.0f} ms, {len(getattr(wake, which))} journeys",
            )
    console.print(table)
    if e.history:
        console.print(
            _history(
                e.history, (before or {}).get("history", {}), before["code"] if before else None
            )
        )
    console.print(_rounds(result))
    problems = (
        e.failures
        + wake.missed
        + [
            f"{r.endpoint}: {r.events - r.appended} of {r.events} events not appended"
            for r in result.ingest
            if r.appended != r.events
        ]
    )
    for problem in problems[:20]:
        console.print(f"[red]problem:[/red] {problem}")
    if len(problems) > 20:
        console.print(f"[red]... and {len(problems) - 20} more problems[/red]")


def _rounds(result) -> Table:
    table = Table(
        title="Rounds, in the order run (after an untimed warm-up pair)",
        caption="journeys and bare runs alternate J B, B J, ... so drift hits both",
    )
    for name in ("#", "Variant", "Runs", "Seconds", "Runs/s", "CPU ms/run here", "server"):
        table.add_column(name, justify="left" if name == "Variant" else "right")
    for n, r in enumerate(result.enrollment.rounds, start=1):

        def per_run(cpu, r=r):
            return f"{1000 * cpu / r.count:,.1f}" if cpu is not None and r.count else "-"

        table.add_row(
            str(n),
            r.variant,
            f"{r.count:,}",
            f"{r.seconds:,.2f}",
            f"{r.rate:,.1f}",
            per_run(r.cpu_here),
            per_run(r.cpu_server),
        )
    return table


def _history(now: dict, earlier: dict, code: str | None) -> Table:
    """Events per step for each variant, then where a run's events go, by kind."""
    label = f"before ({code})" if code else "before"
    table = Table(
        title="History events per step (total events / steps, sampled runs)",
        caption="before: an earlier run's figures (--before), if given",
    )
    for name in ("Variant", "Runs", "Events/run", "Events/step", label):
        table.add_column(name, justify="left" if name == "Variant" else "right")
    for variant, cost in now.items():
        old = earlier.get(variant)
        table.add_row(
            variant,
            str(cost.runs),
            f"{cost.per_run:,.1f}",
            f"{cost.per_step:,.2f}",
            f"{old.per_step:,.2f}" if old else "-",
        )
    groups = sorted({g for c in [*now.values(), *earlier.values()] for g in c.groups})
    for group in groups:
        old = earlier.get("journey")
        table.add_row(
            f"  per journey: {group}",
            "",
            f"{now['journey'].group_per_run(group):,.1f}" if "journey" in now else "-",
            "",
            f"{old.group_per_run(group):,.1f} /run" if old else "-",
        )
    return table
