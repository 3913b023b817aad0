"""Migrations of running journeys to another version of their flow: the dry run (where
journeys are now, from the journey index and each journey's own state), starting the
MigrationWorkflow and following it, and the page of `migrate` signals it sends.

The journey index says which journeys run which version; each journey's `state` query
says at which step and in which wait it is. A journey that does not answer in time is
counted as `unknown` (it still gets the order and takes it if its step has a place)."""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowExecutionStatus

from domain.flow import Flow
from domain.journey import JourneyState
from domain.journey_migration import MIGRATE_SIGNAL, MigrationOrder, mapping_problems, resolve_steps
from domain.journey_waiting import waiting_view
from domain.migration_plan import (
    MigrationInput,
    MigrationPageRequest,
    MigrationPageResult,
    MigrationPlan,
    MigrationProgress,
    Placement,
    migration_workflow_id,
    plan_migration,
)
from projections import journey_index as index
from projections.flow_catalogue import get_flow, get_version
from routing.journey_views import journey_states
from routing.signals import signal_if_running

MIGRATION_WORKFLOW = "MigrationWorkflow"
PAGE = 500
UTC_ZONE = ZoneInfo("UTC")  # the dry run tells what a wait is for, not when in local time


class MigrationRejected(ValueError):
    """Bad input, naming the field: `field` is the CLI option / request field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True)
class Versions:
    target: Flow
    sources: dict[int, Flow]


def load_versions(
    engine: Engine, flow_id: str, to_version: int, from_version: int | None, mapping: dict[str, str]
) -> Versions:
    """The target and the source versions (`from_version`, else every other version
    that has live journeys); CatalogueError for an unknown flow or version."""
    if from_version is not None and from_version == to_version:
        raise MigrationRejected("from", f"is the target version {to_version}; nothing to move")
    with engine.connect() as conn:
        get_flow(conn, flow_id)
        target = get_version(conn, flow_id, to_version)
        if from_version is not None:
            wanted = [from_version]
        else:
            wanted = sorted(
                v for v in index.count_live_by_version(conn, flow_id) if v != to_version
            )
        sources = {v: get_version(conn, flow_id, v) for v in wanted}
    problems = mapping_problems(list(sources.values()) or [target], target, mapping)
    if problems:
        raise MigrationRejected("map", "; ".join(problems))
    return Versions(target=target, sources=sources)


async def dry_run(
    engine: Engine,
    client: Client,
    versions: Versions,
    mapping: dict[str, str],
    within: timedelta = timedelta(seconds=30),
) -> MigrationPlan:
    target = versions.target
    journeys = await asyncio.to_thread(_live, engine, target.id, list(versions.sources))
    states = await journey_states(client, [j.workflow_id for j in journeys], within)
    placements = [
        _placement(versions.sources[j.flow_version], j.flow_version, states.get(j.workflow_id))
        for j in journeys
    ]
    return plan_migration(target.id, versions.sources, target, mapping, placements)


def _live(engine: Engine, flow_id: str, versions: list[int]) -> list[index.IndexedJourney]:
    found, after = [], ""
    with engine.connect() as conn:
        while versions:
            page = index.live_page_of_versions(conn, flow_id, versions, after, PAGE)
            found += page
            if len(page) < PAGE:
                break
            after = page[-1].workflow_id
    return found


def _placement(flow: Flow, version: int, state: JourneyState | None) -> Placement:
    if state is None:
        return Placement(version=version, step_id=None, status="unknown")
    view = waiting_view(flow, state, UTC_ZONE)
    phase = state.wait.phase if view is not None else None
    return Placement(
        version=version,
        step_id=state.current_step,
        status=state.status.value,
        phase=phase,
        reason=view.reason if view else None,
    )


async def start_migration(
    client: Client,
    flow_id: str,
    to_version: int,
    from_versions: list[int],
    mapping: dict[str, str],
    task_queue: str,
    rpc_timeout: timedelta = timedelta(seconds=10),
) -> str:
    """Start the operation; its migration id (GET .../migrations/{id} follows it)."""
    migration_id = uuid.uuid4().hex[:12]
    await client.start_workflow(
        MIGRATION_WORKFLOW,
        MigrationInput(
            migration_id=migration_id,
            flow_id=flow_id,
            to_version=to_version,
            from_versions=from_versions,
            mapping=mapping,
        ),
        id=migration_workflow_id(flow_id, migration_id),
        task_queue=task_queue,
        rpc_timeout=rpc_timeout,
        static_summary=f"migrate journeys of {flow_id} v{from_versions} to v{to_version}",
    )
    return migration_id


async def migration_progress(
    client: Client,
    engine: Engine,
    flow_id: str,
    migration_id: str,
    rpc_timeout: timedelta | None = None,
) -> MigrationProgress:
    """RPCError NOT_FOUND when there is no such migration."""
    handle = client.get_workflow_handle(
        migration_workflow_id(flow_id, migration_id), result_type=MigrationProgress
    )
    description = await handle.describe(rpc_timeout=rpc_timeout)
    if description.status == WorkflowExecutionStatus.COMPLETED:
        progress = await handle.result(rpc_timeout=rpc_timeout)
    else:
        progress = await handle.query(
            "progress", result_type=MigrationProgress, rpc_timeout=rpc_timeout
        )
    with engine.connect() as conn:
        live = index.count_live_by_version(conn, flow_id)
    left = sum(live.get(v, 0) for v in progress.from_versions)
    return progress.model_copy(update={"still_on_old_versions": left})


class JourneyMigrator:
    """Sends one page of `migrate` orders (the worker's migrate_journey_page activity)."""

    def __init__(
        self, client: Client, engine: Engine, rpc_timeout: timedelta | None = timedelta(seconds=10)
    ):
        self.client, self.engine, self.rpc_timeout = client, engine, rpc_timeout

    async def signal_page(self, request: MigrationPageRequest) -> MigrationPageResult:
        page, target, sources = await asyncio.to_thread(self._page, request)
        orders = {
            v: MigrationOrder(
                migration_id=request.migration_id,
                flow=target,
                from_version=v,
                steps=resolve_steps(source, target, request.mapping),
            )
            for v, source in sources.items()
        }
        found = await asyncio.gather(
            *(
                signal_if_running(
                    self.client,
                    j.workflow_id,
                    MIGRATE_SIGNAL,
                    orders[j.flow_version],
                    rpc_timeout=self.rpc_timeout,
                )
                for j in page
            )
        )
        gone = [j for j, ok in zip(page, found, strict=False) if not ok]
        await asyncio.to_thread(self._ended, gone)
        return MigrationPageResult(
            signalled=len(page) - len(gone),
            not_running=len(gone),
            next_after=page[-1].workflow_id if len(page) == request.limit else None,
        )

    def _page(self, request: MigrationPageRequest):
        with self.engine.connect() as conn:
            page = index.live_page_of_versions(
                conn, request.flow_id, request.from_versions, request.after, request.limit
            )
            target = get_version(conn, request.flow_id, request.to_version)
            sources = {
                v: get_version(conn, request.flow_id, v)
                for v in sorted({j.flow_version for j in page})
            }
        return page, target, sources

    def _ended(self, gone: list[index.IndexedJourney]) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for journey in gone:
                index.set_status(
                    conn, [journey.workflow_id], index.ENDED, now, journey.enrollment_id
                )
