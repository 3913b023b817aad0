"""`dripstone flow migrate FLOW --to N [--from M] [--map OLD=NEW ...] [--dry-run]`: move
running journeys to another version of their flow (docs/journey-migration.md).

The plan is printed first: for each step where journeys are now, how many, and where
they would go. A waiting step with no place in the target refuses the migration (exit
1) until it is mapped. The migration itself runs in the worker (MigrationWorkflow); this
command starts it and follows its progress, so Ctrl-C stops the following only."""

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.flow_support import FlowIdArg
from cli.output import console, err, fail

if TYPE_CHECKING:
    from domain.migration_plan import MigrationPlan, MigrationProgress

POLL_SECONDS = 0.5
# Journeys take the order at their next safe point: usually at once (they wait), but one
# busy in a step's activity moves when that ends. Followed this long, then left to run.
SETTLE_SECONDS = 30


def migrate(
    flow_id: FlowIdArg,
    to: Annotated[int, typer.Option("--to", min=1, help="The version journeys move to.")],
    from_: Annotated[
        int | None,
        typer.Option(
            "--from",
            min=1,
            help="Only journeys of this " "version (default: every version but the target).",
        ),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="OLD=NEW: journeys at step "
            "OLD go to step NEW of the target (steps are otherwise matched by id). "
            "Repeat for several.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would move; " "change nothing.")
    ] = False,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow/--no-follow", help="Follow the migration " "until the journeys have moved."
        ),
    ] = True,
) -> None:
    """Move running journeys to another published version of the flow."""
    mapping = _mapping(map_ or [])
    from codec.client import connect
    from projections.database import open_checked
    from projections.flow_catalogue import CatalogueError
    from routing.journey_migrations import MigrationRejected, load_versions, start_migration
    from routing.journey_migrations import dry_run as plan
    from settings import Settings

    settings = Settings()
    engine = open_checked(settings.resolved_database_url)

    async def main():
        versions = load_versions(engine, flow_id, to, from_, mapping)
        if not versions.sources:
            return None, None, None
        client = await connect(settings)
        found = await plan(engine, client, versions, mapping)
        _print_plan(found)
        if dry_run or found.refused:
            return found, None, None
        migration_id = await start_migration(
            client, flow_id, to, sorted(versions.sources), mapping, settings.task_queue
        )
        console.print(
            f"migration {migration_id} started (MigrationWorkflow "
            f"migration/{flow_id}/{migration_id})",
            highlight=False,
        )
        return (
            found,
            migration_id,
            (await _follow(client, engine, flow_id, migration_id) if follow else None),
        )

    try:
        found, migration_id, progress = asyncio.run(main())
    except MigrationRejected as exc:
        fail(f"--{exc.field}: {exc.message}")
    except CatalogueError as exc:
        fail(str(exc))
    except RuntimeError as exc:  # the SDK's "Failed client connect"
        if not str(exc).startswith("Failed client connect"):
            raise
        fail(f"cannot reach Temporal at {settings.temporal_address}: {exc}")
    finally:
        engine.dispose()
    if found is None:
        console.print(
            f"no running journey of flow {flow_id!r} is on another version than "
            f"{to}{'' if from_ is None else f' (version {from_})'}; nothing to move"
        )
        return
    if found.refused:
        err.print(
            "[red]refused:[/red] these steps have journeys waiting and no place in "
            f"version {to}; map each with --map OLD=NEW:"
        )
        for line in found.unmapped:
            err.print(f"  {line}", markup=False, highlight=False)
        raise typer.Exit(1)
    if dry_run:
        console.print(
            f"dry run: {found.moving} journey(s) would move to version {to}; "
            "nothing was changed",
            highlight=False,
        )
    elif progress is not None:
        _report(progress)
    else:
        console.print(f"follow it with: GET /v1/flows/{flow_id}/migrations/{migration_id}")


def _mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            fail(f"--map {pair!r}: expected OLD=NEW (two step ids)")
        if old.strip() in mapping:
            fail(f"--map {pair!r}: step {old.strip()!r} is mapped twice")
        mapping[old.strip()] = new.strip()
    return mapping


def _print_plan(plan: "MigrationPlan") -> None:
    table = Table(
        title=f"{plan.flow_id}: version(s) {', '.join(map(str, plan.from_versions))} "
        f"-> {plan.to_version}"
    )
    for column in ("from", "step now", "status", "waiting for", "journeys", "to step", "deadline"):
        table.add_column(column)
    for row in plan.rows:
        table.add_row(
            f"v{row.from_version}",
            row.step_id or "?",
            row.status,
            row.waiting_for or "",
            str(row.journeys),
            row.to_step or "[red]no place[/red]",
            row.deadline or "",
        )
    console.print(table)


async def _follow(client, engine, flow_id: str, migration_id: str) -> "MigrationProgress":
    from routing.journey_migrations import migration_progress

    waited = 0.0
    while True:
        progress = await migration_progress(client, engine, flow_id, migration_id)
        settled = progress.status == "completed" and not progress.still_on_old_versions
        if settled or waited >= SETTLE_SECONDS:
            return progress
        await asyncio.sleep(POLL_SECONDS)
        waited += POLL_SECONDS


def _report(progress: "MigrationProgress") -> None:
    left = progress.still_on_old_versions
    console.print(
        f"migration {progress.migration_id} {progress.status}: "
        f"{progress.signalled} journey(s) ordered to move, "
        f"{progress.not_running} no longer running, {left} still on version(s) "
        f"{', '.join(map(str, progress.from_versions))}",
        highlight=False,
    )
    if left:
        console.print(
            "those take the order at their next safe point, or stay where they are "
            "if the step they reach has no place in the target (see their trail)"
        )
