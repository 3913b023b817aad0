"""Reading journeys from Temporal: found through visibility (search attributes), and
each one's own state through its `state` query. Shared by the CLI (`dripstone
journeys`) and the API (live details beside the journey index)."""

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from domain.journey import JourneyState
from workflows import search_attributes as sa

STATE_TIMEOUT = timedelta(seconds=5)


@dataclass(frozen=True)
class JourneyRow:
    workflow_id: str
    flow_id: str
    flow_version: int | None
    contact_id: str
    execution_status: str
    status: str
    current_step: str
    trail: list[str]
    state: JourneyState | None = None  # None: the journey did not answer its query


async def list_journeys(
    client: Client, contact_id: str | None = None, flow_id: str | None = None
) -> list[JourneyRow]:
    clauses = ["WorkflowType = 'JourneyWorkflow'"]
    if contact_id:
        clauses.append(f"{sa.CONTACT_ID.name} = '{_quote(contact_id)}'")
    if flow_id:
        clauses.append(f"{sa.FLOW_ID.name} = '{_quote(flow_id)}'")
    rows = []
    async for execution in client.list_workflows(" AND ".join(clauses)):
        if execution.status == WorkflowExecutionStatus.CONTINUED_AS_NEW:
            continue  # an earlier run of a journey listed by its latest run (same id)
        attrs = execution.typed_search_attributes
        state = await journey_state(client, execution.id, execution.run_id)
        rows.append(
            JourneyRow(
                workflow_id=execution.id,
                flow_id=attrs.get(sa.FLOW_ID) or "",
                flow_version=attrs.get(sa.FLOW_VERSION),
                contact_id=attrs.get(sa.CONTACT_ID) or "",
                execution_status=_status_name(execution.status),
                status=state.status.value if state else (attrs.get(sa.STATUS) or ""),
                current_step=(state.current_step if state else attrs.get(sa.CURRENT_STEP)) or "",
                trail=trail_of(state) if state else [],
                state=state,
            )
        )
    return sorted(rows, key=lambda r: (r.contact_id, r.flow_id))


def trail_of(state: JourneyState) -> list[str]:
    """'step: outcome' for each step taken, oldest first."""
    return [f"{v.step_id}: {v.outcome}" for v in state.trail]


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _status_name(status: WorkflowExecutionStatus | None) -> str:
    return status.name.lower() if status else "unknown"


async def journey_state(
    client: Client,
    workflow_id: str,
    run_id: str | None = None,
    rpc_timeout: timedelta = STATE_TIMEOUT,
) -> JourneyState | None:
    """The journey's own state, or None when it does not answer (no such run, no worker
    to answer within the timeout)."""
    try:
        return await client.get_workflow_handle(workflow_id, run_id=run_id).query(
            "state", result_type=JourneyState, rpc_timeout=rpc_timeout
        )
    except RPCError:
        return None


async def journey_states(
    client: Client, workflow_ids: list[str], within: timedelta, at_once: int = 10
) -> dict[str, JourneyState | None]:
    """Several journeys' states, at most `at_once` queries in flight, all given up
    after `within`: an answer that does not come (Temporal unreachable, no worker, a
    lazily connected client failing to connect) is None, never an error."""
    gate = asyncio.Semaphore(at_once)

    async def one(workflow_id: str) -> JourneyState | None:
        async with gate:
            try:
                return await journey_state(
                    client, workflow_id, rpc_timeout=min(within, STATE_TIMEOUT)
                )
            except Exception:  # noqa: BLE001 - details are optional; a failure is "unknown"
                return None

    tasks = {workflow_id: asyncio.create_task(one(workflow_id)) for workflow_id in workflow_ids}
    if not tasks:
        return {}
    _, late = await asyncio.wait(tasks.values(), timeout=within.total_seconds())
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    return {
        workflow_id: (None if task in late or task.cancelled() else task.result())
        for workflow_id, task in tasks.items()
    }
