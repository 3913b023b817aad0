"""Journeys acting on journeys: a step adds the contact to another flow, or stops,
pauses or resumes the contact there [000, 002]; ops do the same per contact or for a
whole flow. Signals go by the deterministic workflow id, so nothing needs a lookup."""

import structlog
from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.actions import ControlOutcome, ControlRequest, FlowRequest
from domain.flow import Flow
from domain.journey import journey_workflow_id
from projections.flow_catalogue import CatalogueError, get_flow, get_version
from projections.flow_lifecycle import manual_enrollment_flow
from routing.router import Router
from routing.signals import signal_if_running

log = structlog.get_logger("dripstone.journey_control")

def _args(signal: str, reason: str | None, default_reason: str) -> tuple:
    return (reason or default_reason,) if signal == "stop" else ()


async def signal_journey(client: Client, flow_id: str, contact_id: str, signal: str,
                         reason: str | None = None) -> bool:
    """Send pause / resume / stop to a contact's journey in a flow; False if the contact
    has no running journey there (never enrolled, or already finished)."""
    return await signal_if_running(client, journey_workflow_id(flow_id, contact_id), signal,
                                   *_args(signal, reason, "stopped"))


async def signal_flow_journeys(client: Client, flow_id: str, signal: str,
                               reason: str | None = None) -> int:
    """Every running journey of a flow, found through visibility (DripstoneFlowId), gets
    the signal: pausing a flow holds its journeys, archiving ends them. Returns the count
    (a journey that finished since it was listed is not counted)."""
    query = f"DripstoneFlowId = '{flow_id}' AND ExecutionStatus = 'Running'"
    args = _args(signal, reason, f"flow {flow_id} archived")
    count = 0
    async for execution in client.list_workflows(query):
        count += await signal_if_running(client, execution.id, signal, *args)
    log.info("flow.journeys_signalled", flow_id=flow_id, signal=signal, count=count)
    return count


class JourneyControlActivities:
    def __init__(self, engine: Engine, client: Client, task_queue: str):
        self.engine = engine
        self.client = client
        self.router = Router(client, engine, task_queue)

    @activity.defn(name="published_flow")
    def published_flow(self, request: FlowRequest) -> Flow:
        with self.engine.connect() as conn:
            return _live_flow(conn, request.flow_id, None)

    @activity.defn(name="enroll_in_flow")
    async def enroll_in_flow(self, request: ControlRequest) -> ControlOutcome:
        """Like a manual enrollment (the trigger's filters are skipped), under the other
        flow's own re-entry policy; the enrollment id comes from the step's idempotency
        key, so a retried activity finds the journey it already started."""
        with self.engine.connect() as conn:
            flow = _live_flow(conn, request.flow_id, request.contact_id)
        routed = await self.router.enroll(flow, request.contact_id,
                                          request.enrollment_id or request.flow_id, None)
        return ControlOutcome(result="enrolled" if routed.outcome == "enrolled"
                              else "already in that flow")

    @activity.defn(name="control_journey")
    async def control_journey(self, request: ControlRequest) -> ControlOutcome:
        found = await signal_journey(self.client, request.flow_id, request.contact_id,
                                     request.signal, request.reason)
        return ControlOutcome(result=f"{request.signal} sent" if found else "not in that flow")


def _live_flow(conn, flow_id: str, contact_id: str | None) -> Flow:
    try:
        if contact_id is None:
            return get_version(conn, flow_id, get_flow(conn, flow_id).current_version)
        return manual_enrollment_flow(conn, flow_id, contact_id)
    except CatalogueError as exc:
        # A step naming a missing or closed flow will not heal by retrying.
        raise ApplicationError(str(exc), type="UnknownFlow", non_retryable=True) from None
