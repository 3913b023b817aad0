"""The backfill's side effects: counting a flow's audience and enrolling one page of it.

Enrollment goes through Router.enroll under the flow's own re-entry policy with the
enrollment id `backfill-v<version>`, so a contact that already has (or, with re_entry
'never', ever had) a journey in the flow is refused by Temporal itself and counted as
skipped: running a page twice never starts a second journey for it. Every enrollment
is made as a redelivery, so under 'after_exit' a journey this backfill already ran to
its end is recognised by its memo and not started again ('always' gives the backfill's
journey an id of its own, which its reuse policy never lets start twice). A retried page
also skips the contacts its earlier attempt reported in its heartbeats, which saves
those look-ups.
"""

import asyncio

from sqlalchemy import Engine
from temporalio import activity

from activities.journey_control import Enroller
from domain.backfill import FlowState, PageRequest, PageResult, TotalRequest, backfill_enrollment_id
from domain.flow import Flow, FlowStatus
from projections.audience import audience_page, audience_pages
from projections.flow_catalogue import UnknownVersion, find_flow, get_version


class BackfillActivities:
    def __init__(self, engine: Engine, enroller: Enroller):
        self.engine = engine
        self.router = enroller

    @activity.defn(name="backfill_total")
    def backfill_total(self, request: TotalRequest) -> int:
        """The audience's size (the preview count), for the progress bar. Long for a big
        audience, so it heartbeats per page and a retry resumes the count where the
        last attempt's heartbeat left it."""
        flow, _, _ = self._version(request.flow_id, request.version)
        if flow is None:
            return 0
        details = activity.info().heartbeat_details
        after, count = (details[0], details[1]) if details else (None, 0)
        if details and after is None:
            return count  # the earlier attempt counted everything
        for page in audience_pages(self.engine, flow, request.page_size, after):
            count += len(page.contact_ids)
            activity.heartbeat(page.next_after, count)
        return count

    @activity.defn(name="backfill_page")
    async def backfill_page(self, request: PageRequest) -> PageResult:
        flow, state, reason = await asyncio.to_thread(
            self._version, request.flow_id, request.version
        )
        if flow is None or state != "live":
            return PageResult(flow_state=state, reason=reason)
        page = await asyncio.to_thread(
            audience_page, self.engine, flow, request.after, request.limit
        )
        done, enrolled, skipped = _resumed(activity.info().heartbeat_details, request.after)
        enrollment_id = backfill_enrollment_id(flow.version)
        for contact_id in page.contact_ids:
            if contact_id in done:
                continue
            routed = await self.router.enroll(
                flow, contact_id, enrollment_id, None, redelivery=True
            )
            if routed.outcome == "enrolled":
                enrolled += 1
            else:
                skipped += 1
            done.add(contact_id)
            activity.heartbeat(request.after, sorted(done), enrolled, skipped)
        return PageResult(
            flow_state="live",
            next_after=page.next_after,
            scanned=page.scanned,
            enrolled=enrolled,
            skipped=skipped,
        )

    def _version(self, flow_id: str, version: int) -> tuple[Flow | None, FlowState, str | None]:
        """The published version, and whether it may still enroll: a paused flow enrolls
        no one until resumed; an archived flow, or a version a newer one replaced, never
        again."""
        with self.engine.connect() as conn:
            record = find_flow(conn, flow_id)
            if record is None:
                return None, "gone", f"flow {flow_id!r} does not exist"
            try:
                flow = get_version(conn, flow_id, version)
            except UnknownVersion as exc:
                return None, "gone", str(exc)
        if record.current_version != version:
            return flow, "gone", f"version {record.current_version} replaced version {version}"
        if record.status == FlowStatus.PAUSED:
            return flow, "paused", f"flow {flow_id!r} is paused"
        if record.status != FlowStatus.PUBLISHED:
            return flow, "gone", f"flow {flow_id!r} is {record.status.value}"
        return flow, "live", None


def _resumed(details, after: str | None) -> tuple[set[str], int, int]:
    """What an earlier attempt at the same page already did, from its last heartbeat."""
    if not details or details[0] != after:
        return set(), 0, 0
    return set(details[1]), details[2], details[3]


def backfill_activities(engine: Engine, enroller: Enroller | None) -> list:
    """The worker's backfill activities; none without a router (they start journeys)."""
    if enroller is None:
        return []
    backfill = BackfillActivities(engine, enroller)
    return [backfill.backfill_total, backfill.backfill_page]
