"""`dripstone flow stats FLOW [--version N] [--json]`: per-step counts of a flow version,
read from the database (projections/step_stats.py), like GET /v1/flows/{id}/stats."""

from typing import Annotated

import typer
from rich.table import Table

from cli.flow_support import FlowIdArg, catalogue
from cli.output import console

COLUMNS = (
    "entered",
    "completed",
    "skipped",
    "exited",
    "failed",
    "interrupted",  # a wait cut short by a stop
    "waiting",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "unsubscribed",
    "converted",
)
VARIANT_COLUMNS = ("sent", "delivered", "opened", "clicked", "bounced", "unsubscribed")


def stats(
    flow_id: FlowIdArg,
    version: Annotated[
        int | None, typer.Option(min=1, help="Published version (default: the live one).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the counts as JSON " "(the API's shape).")
    ] = False,
) -> None:
    """Per-step counts: entered, completed, skipped by reason, waiting now, sends and
    what providers reported about them, conversions."""
    from projections.step_stats import flow_step_stats

    with catalogue() as conn:
        result = flow_step_stats(conn, flow_id, version)
    if as_json:
        console.print_json(result.model_dump_json())
        return
    table = Table(
        title=f"{flow_id} v{result.version} (live: v{result.live_version}; "
        f"{result.live_journeys} live journeys)"
    )
    table.add_column("step")
    table.add_column("kind")
    for name in COLUMNS:
        table.add_column(name, justify="right")
    for row in result.steps:
        table.add_row(
            row.step_id,
            row.kind,
            *(
                str(row.skipped_total if name == "skipped" else getattr(row, name))
                for name in COLUMNS
            ),
        )
        for variant in row.variants or []:
            # Under its experiment step: entered is the visits given the variant.
            table.add_row(
                f"{row.step_id}/{variant.name}",
                "variant",
                *(
                    str(variant.assigned)
                    if name == "entered"
                    else str(getattr(variant, name))
                    if name in VARIANT_COLUMNS
                    else ""
                    for name in COLUMNS
                ),
            )
    console.print(table)
    skips = [
        f"{row.step_id}: " + ", ".join(f"{r} {n}" for r, n in row.skipped.items() if n)
        for row in result.steps
        if row.skipped_total
    ]
    for line in skips:
        console.print(f"  skipped {line}", markup=False, highlight=False)
    if result.unplaced:
        console.print(f"  {result.unplaced} live journeys have not reported a step yet")
    if result.converted_unattributed:
        console.print(f"  {result.converted_unattributed} conversions before any step")
