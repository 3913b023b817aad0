"""Finding journeys through Temporal visibility (search attributes) and their state."""

from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from domain.journey import JourneyState
from workflows import search_attributes as sa


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


async def list_journeys(client: Client, contact_id: str | None = None,
                        flow_id: str | None = None) -> list[JourneyRow]:
    clauses = ["WorkflowType = 'JourneyWorkflow'"]
    if contact_id:
        clauses.append(f"{sa.CONTACT_ID.name} = '{_quote(contact_id)}'")
    if flow_id:
        clauses.append(f"{sa.FLOW_ID.name} = '{_quote(flow_id)}'")
    rows = []
    async for execution in client.list_workflows(" AND ".join(clauses)):
        attrs = execution.typed_search_attributes
        state = await _state(client, execution.id, execution.run_id)
        rows.append(JourneyRow(
            workflow_id=execution.id,
            flow_id=attrs.get(sa.FLOW_ID) or "",
            flow_version=attrs.get(sa.FLOW_VERSION),
            contact_id=attrs.get(sa.CONTACT_ID) or "",
            execution_status=_status_name(execution.status),
            status=state.status.value if state else (attrs.get(sa.STATUS) or ""),
            current_step=(state.current_step if state else attrs.get(sa.CURRENT_STEP)) or "",
            trail=[f"{v.step_id}: {v.outcome}" for v in state.trail] if state else [],
        ))
    return sorted(rows, key=lambda r: (r.contact_id, r.flow_id))


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _status_name(status: WorkflowExecutionStatus | None) -> str:
    return status.name.lower() if status else "unknown"


async def _state(client: Client, workflow_id: str, run_id: str) -> JourneyState | None:
    try:
        return await client.get_workflow_handle(workflow_id, run_id=run_id).query(
            "state", result_type=JourneyState, rpc_timeout=timedelta(seconds=5))
    except RPCError:
        return None
