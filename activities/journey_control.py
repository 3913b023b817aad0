"""Journeys acting on journeys: a step adds the contact to another flow, or stops,
pauses or resumes the contact there [000, 002]. Enrolling and signalling are done by
the router and the journey controls the worker hands in; this module imports neither."""

from typing import Any, Protocol

import structlog
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.contracts.actions import ControlOutcome, ControlRequest, FlowRequest
from domain.events import ContactEvent
from domain.flow import Flow
from domain.flow_control import FlowPageRequest, FlowPageResult
from projections.flow_catalogue import CatalogueError, get_flow, get_version
from projections.flow_lifecycle import manual_enrollment_flow

log = structlog.get_logger("dripstone.journey_control")


class Enroller(Protocol):
    async def enroll(
        self,
        flow: Flow,
        contact_id: str,
        enrollment_id: str,
        event: ContactEvent | None,
        redelivery: bool = False,
    ) -> Any: ...


class Signaller(Protocol):
    async def signal_contact(
        self, flow_id: str, contact_id: str, signal: str, reason: str | None = None
    ) -> int: ...

    async def signal_flow_page(
        self, flow_id: str, signal: str, reason: str | None, after: str, limit: int
    ) -> tuple[int, str | None]: ...


class JourneyControlActivities:
    def __init__(self, engine: Engine, enroller: Enroller, signaller: Signaller):
        self.engine = engine
        self.enroller = enroller
        self.signaller = signaller

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
        routed = await self.enroller.enroll(
            flow,
            request.contact_id,
            request.enrollment_id or request.flow_id,
            None,
            redelivery=True,
        )
        return ControlOutcome(
            result="enrolled" if routed.outcome == "enrolled" else "already in that flow"
        )

    @activity.defn(name="signal_flow_page")
    async def signal_flow_page(self, request: FlowPageRequest) -> FlowPageResult:
        """One page of a flow-wide pause, resume or stop (FlowControlWorkflow)."""
        if request.while_status is not None:
            with self.engine.connect() as conn:
                status = get_flow(conn, request.flow_id).status
            if status != request.while_status:  # a later change took over
                return FlowPageResult(signalled=0, next_after=None)
        signalled, next_after = await self.signaller.signal_flow_page(
            request.flow_id, request.signal, request.reason, request.after, request.limit
        )
        return FlowPageResult(signalled=signalled, next_after=next_after)

    @activity.defn(name="control_journey")
    async def control_journey(self, request: ControlRequest) -> ControlOutcome:
        reached = await self.signaller.signal_contact(
            request.flow_id, request.contact_id, request.signal, request.reason
        )
        return ControlOutcome(result=f"{request.signal} sent" if reached else "not in that flow")


def _live_flow(conn, flow_id: str, contact_id: str | None) -> Flow:
    try:
        if contact_id is None:
            return get_version(conn, flow_id, get_flow(conn, flow_id).current_version)
        return manual_enrollment_flow(conn, flow_id, contact_id)
    except CatalogueError as exc:
        # A step naming a missing or closed flow will not heal by retrying.
        raise ApplicationError(str(exc), type="UnknownFlow", non_retryable=True) from None
