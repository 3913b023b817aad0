"""`dripstone flow ...`: validate, save drafts, publish, pause/resume/archive, list and
diff versions; import/export documents and the JSON Schema are in cli/flow_documents.py.

Every command that touches the database opens it (checking its schema revision, never
migrating it) as the worker does (cli/flow_support.py); catalogue refusals become
`error: ...` and exit 2.
"""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.backfill_command import audience, backfill, backfill_after_publish
from cli.experiment_commands import experiment
from cli.flow_documents import export, from_template, schema, templates
from cli.flow_stats_command import stats
from cli.flow_support import (
    EnrollExistingOption,
    FlowIdArg,
    allow_private_targets,
    catalogue,
    has_errors,
    known_scripts,
    known_topics,
    preference_links,
    print_problems,
    read_document,
    report_published,
)
from cli.migrate_command import migrate
from cli.output import console, fail
from cli.send_test import send_test
from cli.simulate_command import simulate

flow_app = typer.Typer(help="Draft, publish, pause and inspect flows.", no_args_is_help=True)
flow_app.command("experiment")(experiment)


@flow_app.command("validate")
def validate(path: Path) -> None:
    """Check a flow file and list its problems (exit 1 if any is an error)."""
    from domain.validation import parse_flow
    from domain.validation.sms_steps import sms_steps

    flow, problems = parse_flow(
        read_document(path),
        allow_private_targets=allow_private_targets(),
        known_scripts=known_scripts(),
        known_topics=known_topics(),
        preference_links=preference_links(),
    )
    print_problems(problems)
    # What each text costs, errors or not: it is what the author tunes next.
    for step in sms_steps(flow) if flow is not None else []:
        console.print(f"  {step}", markup=False, highlight=False, soft_wrap=True)
    if has_errors(problems):
        raise typer.Exit(1)
    console.print(f"[green]ok[/green]: flow {flow.id!r} is valid ({len(flow.steps)} steps)")


@flow_app.command("publish")
def publish(path: Path, enroll_existing: EnrollExistingOption = None) -> None:
    """Publish a flow file as a new immutable version (refused while it has errors)."""
    from domain.validation import parse_flow
    from projections.flow_catalogue import publish as publish_flow

    allowed, scripts, topics = allow_private_targets(), known_scripts(), known_topics()
    links = preference_links()
    flow, problems = parse_flow(
        read_document(path),
        allow_private_targets=allowed,
        known_scripts=scripts,
        known_topics=topics,
        preference_links=links,
    )
    if flow is None:
        fail("the flow cannot be published:\n" + "\n".join(f"  {p}" for p in problems))
    with catalogue(write=True) as conn:
        published = publish_flow(
            conn,
            flow,
            allow_private_targets=allowed,
            known_scripts=scripts,
            known_topics=topics,
            preference_links=links,
        )
        report_published(conn, published)
    backfill_after_publish(published, enroll_existing)  # after the commit: the worker reads it


@flow_app.command("save")
def save(path: Path) -> None:
    """Save a flow file as the flow's draft, even with problems; the live version is untouched."""
    from projections.flow_lifecycle import save_draft

    document = read_document(path)
    with catalogue(write=True) as conn:
        problems = save_draft(
            conn,
            document,
            allow_private_targets=allow_private_targets(),
            known_scripts=known_scripts(),
            known_topics=known_topics(),
            preference_links=preference_links(),
        )
    console.print(f"saved draft of flow {document['id']!r}")
    print_problems(problems)
    if has_errors(problems):
        console.print("publishing is blocked until the errors above are fixed")


flow_app.command("import", help="Import a YAML or JSON flow file as a draft (same as `save`).")(
    save
)


@flow_app.command("publish-draft")
def publish_draft(flow_id: FlowIdArg, enroll_existing: EnrollExistingOption = None) -> None:
    """Publish the saved draft as a new version (refused while it has errors)."""
    from projections.flow_lifecycle import publish_draft as publish

    with catalogue(write=True) as conn:
        published = publish(
            conn,
            flow_id,
            allow_private_targets=allow_private_targets(),
            known_scripts=known_scripts(),
            known_topics=known_topics(),
            preference_links=preference_links(),
        )
        report_published(conn, published)
    backfill_after_publish(published, enroll_existing)


def _transition(action: str, flow_id: str, signal: str, journeys: bool) -> None:
    from projections import flow_lifecycle

    with catalogue(write=True) as conn:
        status = getattr(flow_lifecycle, action)(conn, flow_id)
    console.print(f"flow {flow_id!r} is now {status.value}")
    if journeys:
        # After the catalogue change, so no new journey starts while these are signalled.
        from cli.journey_control import control

        control(
            flow_id,
            None,
            signal,
            "flow archived" if signal == "stop" else None,
            while_status=status.value,
        )


JourneysOption = Annotated[
    bool,
    typer.Option(
        "--journeys/--no-journeys", help="Also signal the flow's running journeys (needs Temporal)."
    ),
]


@flow_app.command("pause")
def pause(flow_id: FlowIdArg, journeys: JourneysOption = True) -> None:
    """Stop enrolling new contacts and hold running journeys where they are."""
    _transition("pause", flow_id, "pause", journeys)


@flow_app.command("resume")
def resume(flow_id: FlowIdArg, journeys: JourneysOption = True) -> None:
    """Enroll new contacts again and release held journeys."""
    _transition("resume", flow_id, "resume", journeys)


@flow_app.command("archive")
def archive(flow_id: FlowIdArg, journeys: JourneysOption = True) -> None:
    """Retire the flow for good (its versions stay readable) and end its journeys."""
    _transition("archive", flow_id, "stop", journeys)


@flow_app.command("conversions")
def conversions(flow_id: FlowIdArg) -> None:
    """Goal conversions per step: each converted contact counts once, for the last step
    they reached before meeting the goal."""
    from projections.reports import conversions_by_step

    with catalogue() as conn:
        counts = conversions_by_step(conn, flow_id)
    table = Table(title=f"Conversions of {flow_id}")
    table.add_column("attributed step")
    table.add_column("conversions", justify="right")
    for step_id, count in counts.items():
        table.add_row(step_id or "(none)", str(count))
    table.add_row("total", str(sum(counts.values())))
    console.print(table)


@flow_app.command("list")
def list_() -> None:
    """Every flow with its status, live version and whether a draft is pending."""
    from projections.flow_catalogue import list_flows

    with catalogue() as conn:
        records = list_flows(conn)
    table = Table(title="Flows")
    for column in ("flow", "name", "status", "live version", "draft"):
        table.add_column(column)
    for r in records:
        table.add_row(
            r.flow_id,
            r.name or "",
            r.status.value,
            str(r.current_version or "-"),
            "pending" if r.draft is not None else "",
        )
    console.print(table)


@flow_app.command("versions")
def versions(flow_id: FlowIdArg) -> None:
    """List a flow's published versions."""
    from projections.flow_catalogue import get_flow
    from projections.flow_catalogue import versions as all_versions

    with catalogue() as conn:
        record = get_flow(conn, flow_id)
        listed = all_versions(conn, flow_id)
    table = Table(title=f"Flow {flow_id} ({record.status.value})")
    for column in ("version", "published at", "steps"):
        table.add_column(column)
    for flow in listed:
        live = " (live)" if flow.version == record.current_version else ""
        table.add_row(
            f"{flow.version}{live}",
            f"{flow.published_at:%Y-%m-%d %H:%M:%S %Z}",
            str(len(flow.steps)),
        )
    console.print(table if listed else f"flow {flow_id!r} has no published version yet")


@flow_app.command("diff")
def diff(flow_id: FlowIdArg, old: int, new: int) -> None:
    """What changed from version OLD to version NEW (steps matched by id)."""
    from domain.flow_diff import diff_flows
    from projections.flow_catalogue import get_version

    with catalogue() as conn:
        before, after = get_version(conn, flow_id, old), get_version(conn, flow_id, new)
    changes = diff_flows(before, after)
    if not changes:
        console.print(f"versions {old} and {new} of flow {flow_id!r} are the same")
    for change in changes:
        mark = {"added": "+", "removed": "-", "changed": "~"}[change.kind]
        console.print(
            f"{mark} {change.path}: {_show(change.old)} -> {_show(change.new)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def _show(value) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


# Defined in modules of their own, listed under `flow` after the commands above.
flow_app.command("export")(export)  # cli/flow_documents.py
flow_app.command("schema")(schema)
flow_app.command("templates")(templates)
flow_app.command("from-template")(from_template)
flow_app.command("test-send")(send_test)  # cli/send_test.py
flow_app.command("audience")(audience)  # cli/backfill_command.py
flow_app.command("backfill")(backfill)
flow_app.command("stats")(stats)  # cli/flow_stats_command.py
flow_app.command("migrate")(migrate)  # cli/migrate_command.py
flow_app.command("simulate")(simulate)  # cli/simulate_command.py
