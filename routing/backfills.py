"""Starting, following and cancelling "enroll existing" backfills (workflows.backfill).

One backfill per published version, under the id `backfill/<flow_id>/v<version>`:
starting it while it runs, or after it completed, finds that one and enrolls no one
again. A backfill that was cancelled (or terminated) is started again from the cursor
its last run reached, so "start it again" is also how a stopped backfill resumes.
"""

from datetime import timedelta

from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.backfill import BackfillInput, BackfillProgress, backfill_workflow_id
from domain.flow import Flow
from workflows.backfill import BackfillWorkflow

# A query needs a worker to answer it; without one, fall back to what history says.
QUERY_TIMEOUT = timedelta(seconds=5)


async def start_backfill(
    client: Client, flow: Flow, *, task_queue: str, rate_per_second: float, page_size: int
) -> str:
    """Start (or find) the backfill of this published version; its workflow id."""
    workflow_id = backfill_workflow_id(flow.id, flow.version)
    handle = client.get_workflow_handle_for(BackfillWorkflow.run, workflow_id)
    description = await _describe(handle)
    start = BackfillInput(flow=flow, rate_per_second=rate_per_second, page_size=page_size)
    # Nothing there yet: any run that appears meanwhile (even one already closed) wins.
    reuse = WorkflowIDReusePolicy.REJECT_DUPLICATE
    if description is not None:
        if description.status == WorkflowExecutionStatus.RUNNING:
            return workflow_id
        last = await _progress(client, handle, description)
        if last.status == "completed":
            return workflow_id
        start = start.model_copy(
            update={
                "cursor": last.cursor,
                "scanned": last.scanned,
                "enrolled": last.enrolled,
                "skipped": last.skipped,
                "total": last.total,
            }
        )
        reuse = WorkflowIDReusePolicy.ALLOW_DUPLICATE
    try:
        await client.start_workflow(
            BackfillWorkflow.run,
            start,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=reuse,
            # Two callers racing: the second finds the first's run instead of failing.
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"enroll existing contacts in {flow.name or flow.id} v{flow.version}",
        )
    except WorkflowAlreadyStartedError:
        pass  # a run that closed meanwhile: it did (or stopped) the work
    return workflow_id


async def backfill_progress(
    client: Client, flow_id: str, version: int | None = None
) -> BackfillProgress | None:
    """A backfill's progress (None: that version has none). Without a version, the newest
    version's backfill, found through visibility (eventually consistent: a backfill
    started a moment ago may not be listed yet; pass the version when it is known)."""
    if version is None:
        version = await _latest_version(client, flow_id)
        if version is None:
            return None
    handle = client.get_workflow_handle_for(
        BackfillWorkflow.run, backfill_workflow_id(flow_id, version)
    )
    description = await _describe(handle)
    return None if description is None else await _progress(client, handle, description)


async def cancel_backfill(client: Client, flow_id: str, version: int) -> bool:
    """Ask a running backfill to stop after its current page; False if none is running."""
    handle = client.get_workflow_handle(backfill_workflow_id(flow_id, version))
    try:
        await handle.signal(BackfillWorkflow.cancel)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return False
    return True


async def _describe(handle: WorkflowHandle) -> WorkflowExecutionDescription | None:
    try:
        return await handle.describe()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return None


async def _progress(
    client: Client, handle: WorkflowHandle, description: WorkflowExecutionDescription
) -> BackfillProgress:
    if description.status == WorkflowExecutionStatus.COMPLETED:
        return await handle.result()
    try:
        progress = await handle.query(BackfillWorkflow.progress, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError):
        progress = await _as_started(client, description)
    if description.status != WorkflowExecutionStatus.RUNNING and progress.status == "running":
        # Terminated, failed or timed out: it stopped where its state says.
        status = description.status.name.lower() if description.status else "closed"
        progress = progress.model_copy(
            update={"status": "cancelled", "reason": f"workflow {status}"}
        )
    return progress


async def _as_started(
    client: Client, description: WorkflowExecutionDescription
) -> BackfillProgress:
    """The progress the latest run started from (continue-as-new carries it in the input):
    at most one run's pages behind, and readable with no worker around."""
    handle = client.get_workflow_handle(description.id, run_id=description.run_id)
    async for event in handle.fetch_history_events(page_size=1):
        attributes = event.workflow_execution_started_event_attributes
        [start] = await client.data_converter.decode(attributes.input.payloads, [BackfillInput])
        return BackfillProgress(
            workflow_id=description.id,
            flow_id=start.flow.id,
            version=start.flow.version,
            status="running",
            scanned=start.scanned,
            enrolled=start.enrolled,
            skipped=start.skipped,
            total=start.total,
            cursor=start.cursor,
        )
    raise LookupError(f"workflow {description.id} has no history")


async def _latest_version(client: Client, flow_id: str) -> int | None:
    prefix = backfill_workflow_id(flow_id, 0)[:-1]  # "backfill/<flow_id>/v"
    query = f"WorkflowType = 'BackfillWorkflow' AND WorkflowId STARTS_WITH " f"'{_quote(prefix)}'"
    try:
        versions = [
            int(execution.id[len(prefix) :])
            async for execution in client.list_workflows(query)
            if execution.id[len(prefix) :].isdigit()
        ]
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        return None  # a server without visibility (the time-skipping test server)
    return max(versions, default=None)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
