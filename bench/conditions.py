"""`python -m bench.conditions`: load a realistic event history, then time projection
throughput and condition evaluation. Prints figures only; nothing here asserts on time."""

from __future__ import annotations

import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import Engine

from bench.measure import (
    BenchResult,
    compare_batch_sizes,
    count_events,
    time_conditions,
    timed_ingest,
)
from bench.report import render
from bench.workload import Workload
from projections.database import make_engine, migrate

app = typer.Typer(add_completion=False)


class NotEmpty(Exception):
    pass


def run(
    engine: Engine,
    workload: Workload,
    *,
    batch_size: int = 500,
    compare_sizes: tuple[int, ...] = (1, 500),
    slice_contacts: int = 200,
    samples: int = 2000,
    show_progress: bool = False,
    console: Console | None = None,
) -> BenchResult:
    """The whole benchmark on an empty, migrated database; figures only."""
    if count_events(engine):
        raise NotEmpty(
            "the benchmark needs an empty event store: a rerun would only "
            "replay duplicates, which are free"
        )
    slices = workload.total_events(
        workload.contacts, workload.contacts + slice_contacts * len(compare_sizes)
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not show_progress,
    ) as bar:
        task = bar.add_task(f"loading (batches of {batch_size})", total=workload.total_events())
        load = timed_ingest(engine, workload.stream(), batch_size, partial(bar.advance, task))
        task = bar.add_task(f"batch sizes {compare_sizes}", total=slices)
        sizes = compare_batch_sizes(
            engine, workload, compare_sizes, slice_contacts, partial(bar.advance, task)
        )
    # Only the main load's contacts are sampled, so every run draws the same ones.
    contact_ids = [workload.contact_id(i) for i in range(workload.contacts)]
    latency = time_conditions(engine, contact_ids, samples, seed=workload.seed)
    repeat = time_conditions(engine, contact_ids, samples, seed=workload.seed)
    return BenchResult(engine.dialect.name, workload, load, sizes, latency, repeat)


@app.command()
def main(
    contacts: Annotated[int, typer.Option(help="Contacts in the main load")] = 100_000,
    events_per_contact: Annotated[int, typer.Option(help="Average events per contact")] = 20,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="Empty database to load (default: a temporary SQLite file, deleted after)"
        ),
    ] = None,
    samples: Annotated[int, typer.Option(help="Condition evaluations to time")] = 2000,
    batch_size: Annotated[int, typer.Option(help="Events per ingest call in the main load")] = 500,
    slice_contacts: Annotated[
        int,
        typer.Option(help="Extra contacts ingested per batch size (1 and 500) for the comparison"),
    ] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the generated history")] = 42,
    keep: Annotated[
        bool,
        typer.Option(
            help="Keep the temporary SQLite file, to look into the loaded store afterwards"
        ),
    ] = False,
) -> None:
    """Measure ingest throughput and condition latency; print figures against the targets."""
    console = Console()
    temp_dir = None
    if database_url is None:
        temp_dir = Path(tempfile.mkdtemp(prefix="dripstone-bench-"))
        database_url = f"sqlite:///{temp_dir / 'bench.db'}"
    engine = make_engine(database_url)
    try:
        migrate(engine)
        console.print(f"database: {engine.url.render_as_string(hide_password=True)}")
        result = run(
            engine,
            Workload(contacts, events_per_contact, seed),
            batch_size=batch_size,
            compare_sizes=(1, 500),
            slice_contacts=slice_contacts,
            samples=samples,
            show_progress=True,
            console=console,
        )
    except NotEmpty as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
        if temp_dir is not None and not keep:
            shutil.rmtree(temp_dir, ignore_errors=True)
    render(result, console)


if __name__ == "__main__":
    app()
