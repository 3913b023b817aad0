"""The figures as one table, each next to its target from the issue."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from bench.measure import BenchResult

P99_TARGET_MS = 5.0
# Ingest targets are for batched appends; PostgreSQL is expected to do better.
INGEST_TARGETS = {"sqlite": 2000.0, "postgresql": 5000.0}


def _verdict(ok: bool) -> str:
    return "[green]met[/green]" if ok else "[red]not met[/red]"


def _latency_table(result: BenchResult) -> Table:
    table = Table(
        title=f"Condition latency, {len(result.latency.samples_ms):,} " "random contacts per pass",
        caption="first: pages as the load left them; repeat: the same contacts "
        "at once, their pages now cached",
    )
    for name in ("Pass", "p50 ms", "p95 ms", "p99 ms", "max ms", "true"):
        table.add_column(name, justify="left" if name == "Pass" else "right")
    table.add_column(f"p99 <= {P99_TARGET_MS:g} ms")
    passes = [("first", result.latency), ("repeat", result.latency_repeat)]
    for label, figures in passes:
        if figures is None:
            continue
        summary = figures.summary
        table.add_row(
            label,
            *(f"{summary[k]:.2f}" for k in ("p50", "p95", "p99", "max")),
            f"{figures.matched:,}",
            _verdict(summary["p99"] <= P99_TARGET_MS),
        )
    return table


def render(result: BenchResult, console: Console) -> None:
    w = result.workload
    table = Table(
        title=f"Dripstone benchmark on {result.dialect}: {w.contacts:,} contacts, "
        f"~{w.events_per_contact} events each (seed {w.seed})"
    )
    table.add_column("Figure")
    table.add_column("Value", justify="right")
    table.add_column("Target", justify="right")
    table.add_column("")
    load = result.load
    target = INGEST_TARGETS.get(result.dialect)
    table.add_row(
        f"Ingest, whole load ({load.events:,} events)",
        f"{load.rate:,.0f} ev/s",
        f">= {target:,.0f} ev/s" if target else "-",
        _verdict(load.rate >= target) if target else "",
    )
    table.add_row("  time in ingest", f"{load.seconds:,.1f} s", "", "")
    for size, figures in result.batch_sizes.items():
        table.add_row(
            f"Ingest, batch size {size} ({figures.events:,} events)",
            f"{figures.rate:,.0f} ev/s",
            "",
            "",
        )
    sizes = sorted(result.batch_sizes)
    if len(sizes) >= 2 and result.batch_sizes[sizes[0]].rate:
        ratio = result.batch_sizes[sizes[-1]].rate / result.batch_sizes[sizes[0]].rate
        table.add_row(f"  batch {sizes[-1]} vs batch {sizes[0]}", f"x{ratio:.1f}", "", "")
    console.print(table)
    latency = result.latency
    if latency is not None:
        console.print(_latency_table(result))
        groups = ", ".join(sorted(latency.groups))
        console.print(
            f"Fact groups the condition needs, and all that was loaded (one "
            f"statement per evaluation): {groups}."
        )
