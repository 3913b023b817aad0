"""`dripstone flow export | schema | templates | from-template`: flow documents in and
out (registered under `flow` by cli/flow_commands.py)."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.backfill_command import backfill_after_publish
from cli.flow_support import (
    EnrollExistingOption,
    FlowIdArg,
    allow_private_targets,
    catalogue,
    print_problems,
    report_published,
)
from cli.output import console, fail


def export(
    flow_id: FlowIdArg,
    version: Annotated[
        int | None, typer.Option(help="Version to export (default: the live one)")
    ] = None,
    draft: Annotated[bool, typer.Option("--draft", help="Export the saved draft instead")] = False,
    fmt: Annotated[
        str | None, typer.Option("--format", help="yaml or json (default: from -o, else yaml)")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: stdout)")
    ] = None,
) -> None:
    """Write a flow version (or the draft) as a YAML or JSON document."""
    from cli.flow_files import dump_document, flow_document, format_for
    from projections.flow_catalogue import get_flow, get_version

    if fmt not in (None, "yaml", "json"):
        fail(f"--format: must be yaml or json, not {fmt!r}")
    if draft and version is not None:
        fail("give either --version or --draft, not both")
    with catalogue() as conn:
        record = get_flow(conn, flow_id)
        if draft:
            if record.draft is None:
                fail(f"flow {flow_id!r} has no unpublished draft")
            document = record.draft
        else:
            if version is None and record.current_version == 0:
                fail(
                    f"flow {flow_id!r} has no published version yet; export its draft with --draft"
                )
            document = flow_document(get_version(conn, flow_id, version or record.current_version))
    _write(dump_document(document, format_for(output, fmt)), output)


def schema(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: stdout)")
    ] = None,
) -> None:
    """The JSON Schema of a flow document, for editors and other tools."""
    from domain.flow import Flow

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


def templates() -> None:
    """The ready-made flows shipped in flow_templates/."""
    from cli.templates_command import list_templates

    table = Table(title="Flow templates")
    table.add_column("template")
    table.add_column("what it does")
    for name, description in list_templates():
        table.add_row(name, description)
    console.print(table)


def from_template(
    name: Annotated[str, typer.Argument(help="Template name, see `dripstone flow templates`")],
    publish_now: Annotated[
        bool, typer.Option("--publish", help="Publish instead of saving a draft")
    ] = False,
    enroll_existing: EnrollExistingOption = None,
) -> None:
    """Save a ready-made flow as a draft to adapt (or publish it as shipped)."""
    from cli.flow_files import flow_document
    from cli.templates_command import TemplateError, load_template
    from projections.flow_catalogue import publish as publish_flow
    from projections.flow_lifecycle import save_draft

    allowed = allow_private_targets()
    try:
        flow = load_template(name, allow_private_targets=allowed)
    except TemplateError as exc:
        fail(str(exc))
    if publish_now:
        with catalogue(write=True) as conn:
            published = publish_flow(conn, flow, allow_private_targets=allowed)
            report_published(conn, published)
        backfill_after_publish(published, enroll_existing)
        return
    with catalogue(write=True) as conn:
        problems = save_draft(conn, flow_document(flow), allow_private_targets=allowed)
    console.print(f"saved template {name!r} as a draft of flow {flow.id!r}")
    print_problems(problems)
