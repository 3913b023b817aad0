"""How `bench.routing` prints its result: the figures against their targets, then every
measurement in the order run."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bench.routing_figures import (
    RATIO_TARGET,
    SQLITE_RATE_TARGET,
    WAKE_P99_TARGET_MS,
    RoutingBenchResult,
)


def _verdict(ok: bool) -> str:
    return "[green]met[/green]" if ok else "[red]not met[/red]"


def render(result: RoutingBenchResult, console: Console) -> None:
    o = result.options
    sqlite = result.dialect == "sqlite"
    table = Table(
        title=f"Dripstone routing benchmark on {result.dialect}: POST /v1/events/batch "
        f"({o.batch_size}/request, {o.lanes} senders), routing on; "
        f"median of {o.rounds} round(s) per flow count"
    )
    for name, justify in (
        ("Figure", "left"),
        ("Value", "right"),
        ("Target", "right"),
        ("", "left"),
        ("Detail", "left"),
    ):
        table.add_column(name, justify=justify)
    for count in sorted(o.flow_counts):
        rounds = result.of(count)
        if not rounds:
            continue
        rate = result.rate(count)
        rates = ", ".join(f"{m.rate:,.0f}" for m in rounds)
        cpu = result.cpu_ms(count)
        table.add_row(
            f"Ingest with {count} live flow{'s' if count != 1 else ''}",
            f"{rate:,.0f} ev/s",
            f">= {SQLITE_RATE_TARGET:,.0f}" if sqlite else "",
            _verdict(rate >= SQLITE_RATE_TARGET) if sqlite else "",
            f"rounds {rates} ev/s" + (f"; API CPU {cpu:,.0f} ms/1k ev" if cpu is not None else ""),
        )
    low, high = min(o.flow_counts), max(o.flow_counts)
    table.add_row(
        f"  ratio rate({high}) / rate({low})",
        f"{result.ratio:.2f}",
        f">= {RATIO_TARGET}",
        _verdict(result.ratio >= RATIO_TARGET),
        "of the medians above",
    )
    if result.cpu_ratio is not None:
        table.add_row(
            f"  API CPU per event, {low} / {high} flows",
            f"{result.cpu_ratio:.2f}",
            "",
            "",
            "1.00 = the flows cost nothing; steadier than wall time",
        )
    wake = result.wake
    summary = wake.summary("wake_ms")
    if summary:
        table.add_row(
            "Wake-up: event POSTed -> next action, p50 / p99",
            f"{summary['p50']:,.0f} / {summary['p99']:,.0f} ms",
            f"p99 < {WAKE_P99_TARGET_MS:,.0f} ms",
            _verdict(summary["p99"] < WAKE_P99_TARGET_MS),
            f"max {summary['max']:,.0f} ms, {len(wake.wake_ms)} journeys, "
            f"{result.wake_live} live flows",
        )
    accepted = wake.summary("accepted_ms")
    if accepted:
        table.add_row(
            "  POST /v1/events answered (202), p50 / p99",
            f"{accepted['p50']:,.0f} / {accepted['p99']:,.0f} ms",
            "",
            "",
            f"max {accepted['max']:,.0f} ms",
        )
    console.print(table)
    console.print(_rounds(result))
    for problem in result.problems[:20]:
        console.print(f"[red]problem:[/red] {problem}")
    if len(result.problems) > 20:
        console.print(f"[red]... and {len(result.problems) - 20} more problems[/red]")


def _rounds(result: RoutingBenchResult) -> Table:
    table = Table(
        title="Measurements, in the order run (after an untimed warm-up)",
        caption="up: flows published; down: paused. Fresh contacts each time.",
    )
    for name in (
        "Round",
        "Flows",
        "Live",
        "Events",
        "Seconds",
        "ev/s",
        "Requests",
        "API CPU ms/1k ev",
        "server",
        "API busy",
    ):
        table.add_column(name, justify="right")

    def cpu(value: float | None) -> str:
        return f"{value:,.0f}" if value is not None else "-"

    for m in result.measurements:
        busy = (
            f"{100 * m.cpu_api / m.run.seconds:.0f}% of a core"
            if m.cpu_api is not None and m.run.seconds
            else "-"
        )
        table.add_row(
            str(m.round),
            str(m.flows),
            str(m.live),
            f"{m.run.events:,}",
            f"{m.run.seconds:,.2f}",
            f"{m.rate:,.0f}",
            str(m.run.requests),
            cpu(m.cpu_ms_per_1k("api")),
            cpu(m.cpu_ms_per_1k("server")),
            busy,
        )
    return table
