"""`dripstone flow ...`: validate, save drafts, publish, pause/resume/archive, list and
diff versions, import/export documents and the JSON Schema.

Every command that touches the database opens it (checking its schema revision, never
migrating it) through the same composition root as the worker; catalogue refusals become
`error: ...` and exit 2.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from cli.backfill_command import backfill_after_publish
from cli.flow_files import (
    FlowFileError, dump_document, flow_document, format_for, read_flow_document,
)
from cli.output import console, fail
from domain.flow import Flow, FlowStatus
from domain.flow_diff import diff_flows
from domain.flow_status import IllegalTransition
from domain.validation import Problem, parse_flow
from settings import Settings

flow_app = typer.Typer(help="Draft, publish, pause and inspect flows.", no_args_is_help=True)

FlowIdArg = Annotated[str, typer.Argument(help="The flow's id")]


@contextmanager
def _catalogue(write: bool = False) -> Iterator:
    """A connection (a transaction when writing), with refusals turned into clean errors."""
    from sqlalchemy.exc import OperationalError

    from projections.flow_catalogue import CatalogueError
    from worker import open_database

    engine = None
    try:
        engine = open_database(Settings())
        with engine.begin() if write else engine.connect() as conn:
            yield conn
    except (CatalogueError, IllegalTransition) as exc:
        fail(str(exc))
    except OperationalError as exc:
        fail(f"database: {exc.orig}")
    finally:
        if engine is not None:
            engine.dispose()


def _read(path: Path) -> dict:
    try:
        return read_flow_document(path)
    except FlowFileError as exc:
        fail(str(exc))


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        console.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)


def _has_errors(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)


def _allow_private_targets() -> bool:
    """Whether webhooks and attachments may target internal addresses in this deployment:
    validation and publishing refuse such URLs unless the worker would fetch them."""
    return Settings().webhook_allow_private_targets


@flow_app.command("validate")
def validate(path: Path) -> None:
    """Check a flow file and list its problems (exit 1 if any is an error)."""
    from domain.validation.sms_steps import sms_steps

    flow, problems = parse_flow(_read(path), allow_private_targets=_allow_private_targets())
    _print_problems(problems)
    # What each text costs, errors or not: it is what the author tunes next.
    for step in sms_steps(flow) if flow is not None else []:
        console.print(f"  {step}", markup=False, highlight=False, soft_wrap=True)
    if _has_errors(problems):
        raise typer.Exit(1)
    console.print(f"[green]ok[/green]: flow {flow.id!r} is valid ({len(flow.steps)} steps)")


EnrollExistingOption = Annotated[Optional[bool], typer.Option(
    "--enroll-existing/--no-enroll-existing", help="Also enroll existing contacts who match "
    "(a backfill; default: as the flow's enrollment.existing_contacts says).")]


@flow_app.command("publish")
def publish(path: Path, enroll_existing: EnrollExistingOption = None) -> None:
    """Publish a flow file as a new immutable version (refused while it has errors)."""
    from projections.flow_catalogue import publish as publish_flow

    allowed = _allow_private_targets()
    flow, problems = parse_flow(_read(path), allow_private_targets=allowed)
    if flow is None:
        fail("the flow cannot be published:\n" + "\n".join(f"  {p}" for p in problems))
    with _catalogue(write=True) as conn:
        published = publish_flow(conn, flow, allow_private_targets=allowed)
        _report_published(conn, published)
    backfill_after_publish(published, enroll_existing)  # after the commit: the worker reads it


@flow_app.command("save")
def save(path: Path) -> None:
    """Save a flow file as the flow's draft, even with problems; the live version is untouched."""
    from projections.flow_lifecycle import save_draft

    document = _read(path)
    with _catalogue(write=True) as conn:
        problems = save_draft(conn, document, allow_private_targets=_allow_private_targets())
    console.print(f"saved draft of flow {document['id']!r}")
    _print_problems(problems)
    if _has_errors(problems):
        console.print("publishing is blocked until the errors above are fixed")


flow_app.command("import", help="Import a YAML or JSON flow file as a draft (same as `save`).")(save)


@flow_app.command("publish-draft")
def publish_draft(flow_id: FlowIdArg, enroll_existing: EnrollExistingOption = None) -> None:
    """Publish the saved draft as a new version (refused while it has errors)."""
    from projections.flow_lifecycle import publish_draft as publish

    with _catalogue(write=True) as conn:
        published = publish(conn, flow_id, allow_private_targets=_allow_private_targets())
        _report_published(conn, published)
    backfill_after_publish(published, enroll_existing)


def _report_published(conn, published: Flow) -> None:
    from projections.flow_catalogue import get_status

    console.print(f"published flow {published.id!r} version {published.version}")
    if get_status(conn, published.id) == FlowStatus.PAUSED:
        console.print("the flow is paused: it enrolls new contacts once resumed")


def _transition(action: str, flow_id: str, signal: str, journeys: bool) -> None:
    from projections import flow_lifecycle

    with _catalogue(write=True) as conn:
        status = getattr(flow_lifecycle, action)(conn, flow_id)
    console.print(f"flow {flow_id!r} is now {status.value}")
    if journeys:
        # After the catalogue change, so no new journey starts while these are signalled.
        from cli.journey_control import control

        control(flow_id, None, signal, "flow archived" if signal == "stop" else None,
                while_status=status.value)


JourneysOption = Annotated[bool, typer.Option(
    "--journeys/--no-journeys", help="Also signal the flow's running journeys (needs Temporal).")]


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

    with _catalogue() as conn:
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

    with _catalogue() as conn:
        records = list_flows(conn)
    table = Table(title="Flows")
    for column in ("flow", "name", "status", "live version", "draft"):
        table.add_column(column)
    for r in records:
        table.add_row(r.flow_id, r.name or "", r.status.value, str(r.current_version or "-"),
                      "pending" if r.draft is not None else "")
    console.print(table)


@flow_app.command("versions")
def versions(flow_id: FlowIdArg) -> None:
    """List a flow's published versions."""
    from projections.flow_catalogue import get_flow, versions as all_versions

    with _catalogue() as conn:
        record = get_flow(conn, flow_id)
        listed = all_versions(conn, flow_id)
    table = Table(title=f"Flow {flow_id} ({record.status.value})")
    for column in ("version", "published at", "steps"):
        table.add_column(column)
    for flow in listed:
        live = " (live)" if flow.version == record.current_version else ""
        table.add_row(f"{flow.version}{live}", f"{flow.published_at:%Y-%m-%d %H:%M:%S %Z}",
                      str(len(flow.steps)))
    console.print(table if listed else f"flow {flow_id!r} has no published version yet")


@flow_app.command("diff")
def diff(flow_id: FlowIdArg, old: int, new: int) -> None:
    """What changed from version OLD to version NEW (steps matched by id)."""
    from projections.flow_catalogue import get_version

    with _catalogue() as conn:
        before, after = get_version(conn, flow_id, old), get_version(conn, flow_id, new)
    changes = diff_flows(before, after)
    if not changes:
        console.print(f"versions {old} and {new} of flow {flow_id!r} are the same")
    for change in changes:
        mark = {"added": "+", "removed": "-", "changed": "~"}[change.kind]
        console.print(f"{mark} {change.path}: {_show(change.old)} -> {_show(change.new)}",
                      markup=False, highlight=False, soft_wrap=True)


def _show(value) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


@flow_app.command("export")
def export(
    flow_id: FlowIdArg,
    version: Annotated[Optional[int], typer.Option(help="Version to export (default: the live one)")] = None,
    draft: Annotated[bool, typer.Option("--draft", help="Export the saved draft instead")] = False,
    fmt: Annotated[Optional[str], typer.Option("--format", help="yaml or json (default: from -o, else yaml)")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="File to write (default: stdout)")] = None,
) -> None:
    """Write a flow version (or the draft) as a YAML or JSON document."""
    from projections.flow_catalogue import get_flow, get_version

    if fmt not in (None, "yaml", "json"):
        fail(f"--format: must be yaml or json, not {fmt!r}")
    if draft and version is not None:
        fail("give either --version or --draft, not both")
    with _catalogue() as conn:
        record = get_flow(conn, flow_id)
        if draft:
            if record.draft is None:
                fail(f"flow {flow_id!r} has no unpublished draft")
            document = record.draft
        else:
            if version is None and record.current_version == 0:
                fail(f"flow {flow_id!r} has no published version yet; export its draft with --draft")
            document = flow_document(get_version(conn, flow_id, version or record.current_version))
    _write(dump_document(document, format_for(output, fmt)), output)


@flow_app.command("schema")
def schema(
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="File to write (default: stdout)")] = None,
) -> None:
    """The JSON Schema of a flow document, for editors and other tools."""
    _write(json.dumps(Flow.model_json_schema(mode="validation"), indent=2) + "\n", output)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{output}: cannot write: {exc.strerror}")
    console.print(f"wrote {output}", highlight=False)


@flow_app.command("templates")
def templates() -> None:
    """The ready-made flows shipped in flow_templates/."""
    from cli.templates_command import list_templates

    table = Table(title="Flow templates")
    table.add_column("template")
    table.add_column("what it does")
    for name, description in list_templates():
        table.add_row(name, description)
    console.print(table)


@flow_app.command("from-template")
def from_template(
    name: Annotated[str, typer.Argument(help="Template name, see `dripstone flow templates`")],
    publish_now: Annotated[bool, typer.Option("--publish", help="Publish instead of saving a draft")] = False,
    enroll_existing: EnrollExistingOption = None,
) -> None:
    """Save a ready-made flow as a draft to adapt (or publish it as shipped)."""
    from cli.templates_command import TemplateError, load_template
    from projections.flow_catalogue import publish as publish_flow
    from projections.flow_lifecycle import save_draft

    allowed = _allow_private_targets()
    try:
        flow = load_template(name, allow_private_targets=allowed)
    except TemplateError as exc:
        fail(str(exc))
    if publish_now:
        with _catalogue(write=True) as conn:
            published = publish_flow(conn, flow, allow_private_targets=allowed)
            _report_published(conn, published)
        backfill_after_publish(published, enroll_existing)
        return
    with _catalogue(write=True) as conn:
        problems = save_draft(conn, flow_document(flow), allow_private_targets=allowed)
    console.print(f"saved template {name!r} as a draft of flow {flow.id!r}")
    _print_problems(problems)
