"""`dripstone flow audience` and `dripstone flow backfill`: preview who a flow would
enroll among existing contacts, and enroll them ("enroll existing") with a progress bar.

The backfill runs in the worker (workflows.backfill); this command only starts it and
follows its progress query, so Ctrl-C stops the following, never the backfill.
`flow publish` and `publish-draft` call `backfill_after_publish` for flows that ask for it.
"""

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.output import console, fail

if TYPE_CHECKING:  # imported by the commands that use them: loading them takes time
    from domain.backfill import BackfillProgress
    from domain.flow import Flow

POLL_SECONDS = 0.5
FlowIdArg = Annotated[str, typer.Argument(help="The flow's id")]


def _open(flow_id: str, draft: bool = False) -> tuple:
    """(engine, flow): the live version, or the saved draft parsed (refused with errors)."""
    from domain.flow import FlowStatus
    from domain.validation import errors, parse_flow
    from projections.contacts import known_fields
    from projections.database import open_checked
    from projections.flow_catalogue import CatalogueError, get_flow, get_version
    from settings import Settings

    settings = Settings()
    engine = open_checked(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            record = get_flow(conn, flow_id)
            if draft:
                if record.draft is None:
                    fail(f"flow {flow_id!r} has no unpublished draft")
                flow, problems = parse_flow(
                    record.draft,
                    known_fields(conn),
                    allow_private_targets=settings.webhook_allow_private_targets,
                )
                if flow is None or errors(problems):
                    fail(
                        f"the draft of flow {flow_id!r} has errors:\n"
                        + "\n".join(f"  {p}" for p in errors(problems))
                    )
                return engine, flow
            if record.current_version == 0:
                fail(
                    f"flow {flow_id!r} has no published version yet; preview its draft with --draft"
                )
            if record.status == FlowStatus.ARCHIVED:
                fail(f"flow {flow_id!r} is archived; it enrolls no one")
            return engine, get_version(conn, flow_id, record.current_version)
    except CatalogueError as exc:
        fail(str(exc))


def audience(
    flow_id: FlowIdArg,
    limit: Annotated[int, typer.Option(min=0, help="How many contacts to list")] = 20,
    draft: Annotated[
        bool, typer.Option("--draft", help="Preview the saved draft, not the live version")
    ] = False,
) -> None:
    """Who the flow would enroll among existing contacts: they had an event matching the
    trigger's event and filters, and satisfy its condition now."""
    from projections.audience import preview

    engine, flow = _open(flow_id, draft)
    found = preview(engine, flow, limit)
    engine.dispose()
    which = "its draft" if draft else f"version {flow.version}"
    console.print(
        f"{found.count} existing contact(s) match flow {flow_id!r} ({which})", highlight=False
    )
    if found.contacts:
        table = Table()
        for column in ("contact", "email", "phone"):
            table.add_column(column)
        for c in found.contacts:
            table.add_row(c["contact_id"], c["email"] or "", c["phone"] or "")
        console.print(table)
    if found.count > len(found.contacts):
        console.print(f"... and {found.count - len(found.contacts)} more", highlight=False)


def backfill(
    flow_id: FlowIdArg,
    rate: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="Enrollments per second at most " "(default: DRIPSTONE_BACKFILL_RATE_PER_SECOND)",
        ),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow/--no-follow", help="Show a progress bar until it is done")
    ] = True,
    cancel: Annotated[
        bool, typer.Option("--cancel", help="Stop the running backfill after its current page")
    ] = False,
) -> None:
    """Enroll the existing contacts who match the live version (starting it again resumes
    a stopped backfill; one that completed is not run twice)."""
    engine, flow = _open(flow_id)
    engine.dispose()
    if cancel:
        from routing.backfills import cancel_backfill

        sent = _run(flow, lambda client: cancel_backfill(client, flow.id, flow.version))
        console.print(
            f"cancel sent to the backfill of flow {flow_id!r} version {flow.version}"
            if sent
            else f"flow {flow_id!r} version {flow.version} has no running backfill"
        )
        return
    start_and_follow(flow, rate, follow)


def backfill_after_publish(published: "Flow", enroll_existing: bool | None) -> None:
    """After `flow publish` / `publish-draft`: the flow's own enrollment.existing_contacts
    decides unless --enroll-existing / --no-enroll-existing says otherwise."""
    from domain.flow import FlowStatus
    from projections.database import open_checked
    from projections.flow_catalogue import get_status
    from settings import Settings

    wanted = published.enrollment.existing_contacts if enroll_existing is None else enroll_existing
    if not wanted:
        return
    engine = open_checked(Settings().resolved_database_url)
    with engine.connect() as conn:
        status = get_status(conn, published.id)
    engine.dispose()
    if status != FlowStatus.PUBLISHED:
        console.print(
            f"existing contacts are not enrolled while the flow is {status.value}; once "
            f"resumed, run: dripstone flow backfill {published.id}"
        )
        return
    start_and_follow(published, None, follow=True)


def start_and_follow(flow: "Flow", rate: float | None, follow: bool) -> None:
    from routing.backfills import start_backfill
    from settings import Settings

    settings = Settings()

    async def go(client) -> "BackfillProgress | None":
        workflow_id = await start_backfill(
            client,
            flow,
            task_queue=settings.task_queue,
            rate_per_second=rate or settings.backfill_rate_per_second,
            page_size=settings.backfill_page_size,
        )
        console.print(
            f"{workflow_id}: enrolling existing contacts in flow {flow.id!r} "
            f"version {flow.version}",
            highlight=False,
        )
        return await _follow(client, flow) if follow else None

    try:
        progress = _run(flow, go)
    except KeyboardInterrupt:
        console.print(
            f"\nstopped following; the backfill goes on in the worker "
            f"(follow it again with: dripstone flow backfill {flow.id})"
        )
        return
    if progress is not None:
        _report(progress)
    elif not follow:
        console.print(f"follow it with: dripstone flow backfill {flow.id}")


def _run(flow: "Flow", work):
    """Run `work(client)` against Temporal; an unreachable server is a clean error."""
    from codec.client import connect, is_connect_failure
    from settings import Settings

    settings = Settings()

    async def main():
        return await work(await connect(settings))

    try:
        return asyncio.run(main())
    except RuntimeError as exc:
        if not is_connect_failure(exc):
            raise
        fail(
            f"cannot reach Temporal at {settings.temporal_address}: {exc}. The backfill of flow "
            f"{flow.id!r} did not start; retry with: dripstone flow backfill {flow.id}"
        )


async def _follow(client, flow: "Flow") -> "BackfillProgress":
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from routing.backfills import backfill_progress

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"{flow.id} v{flow.version}", total=None, detail="counting...")
        while True:
            progress = await backfill_progress(client, flow.id, flow.version)
            if progress is None:  # started a moment ago, not visible yet
                await asyncio.sleep(POLL_SECONDS)
                continue
            bar.update(
                task,
                total=progress.total,
                completed=progress.enrolled + progress.skipped,
                detail=progress.reason
                or f"{progress.enrolled} enrolled, " f"{progress.skipped} already in the flow",
            )
            if progress.status != "running":
                return progress
            await asyncio.sleep(POLL_SECONDS)


def _report(progress: "BackfillProgress") -> None:
    why = f" ({progress.reason})" if progress.reason else ""
    console.print(
        f"backfill {progress.status}{why}: {progress.enrolled} enrolled, "
        f"{progress.skipped} already in the flow, {progress.scanned} contact(s) examined",
        highlight=False,
    )
