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


def render(result: BenchResult, console: Console) -> None:
    w = result.workload
    table = Table(title=f"Dripstone benchmark on {result.dialect}: {w.contacts:,} contacts, "
                        f"~{w.events_per_contact} events each (seed {w.seed})")
    table.add_column("Figure")
    table.add_column("Value", justify="right")
    table.add_column("Target", justify="right")
    table.add_column("")
    load = result.load
    target = INGEST_TARGETS.get(result.dialect)
    table.add_row(f"Ingest, whole load ({load.events:,} events)", f"{load.rate:,.0f} ev/s",
                  f">= {target:,.0f} ev/s" if target else "-",
                  _verdict(load.rate >= target) if target else "")
    table.add_row("  time in ingest", f"{load.seconds:,.1f} s", "", "")
    for size, figures in result.batch_sizes.items():
        table.add_row(f"Ingest, batch size {size} ({figures.events:,} events)",
                      f"{figures.rate:,.0f} ev/s", "", "")
    sizes = sorted(result.batch_sizes)
    if len(sizes) >= 2 and result.batch_sizes[sizes[0]].rate:
        ratio = result.batch_sizes[sizes[-1]].rate / result.batch_sizes[sizes[0]].rate
        table.add_row(f"  batch {sizes[-1]} vs batch {sizes[0]}", f"x{ratio:.1f}", "", "")
    latency = result.latency
    if latency is not None:
        summary = latency.summary
        for name in ("p50", "p95", "p99", "max"):
            is_p99 = name == "p99"
            table.add_row(f"Condition latency {name}", f"{summary[name]:.2f} ms",
                          f"<= {P99_TARGET_MS:g} ms" if is_p99 else "",
                          _verdict(summary[name] <= P99_TARGET_MS) if is_p99 else "")
        count = len(latency.samples_ms)
        table.add_row("  samples / condition true", f"{count:,} / {latency.matched:,}", "", "")
    console.print(table)
    if latency is not None:
        groups = ", ".join(sorted(latency.groups))
        how = ("load_snapshot was given only these groups" if latency.groups_passed else
               "load_snapshot does not take groups yet: it loaded what it loads today, "
               "whatever the condition needs")
        console.print(f"Fact groups the condition needs: {groups}. {how}.")
