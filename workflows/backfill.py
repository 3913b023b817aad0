"""BackfillWorkflow: "enroll existing" for one published flow version.

Pages of the audience (projections.audience, keyset by contact_id) are enrolled one
activity at a time; the workflow paces them with durable timers, so the rate limit holds
across worker restarts, and keeps the cursor and counts in its state, which
continue-as-new carries to the next run. A `cancel` signal stops it after the current
page; started again (routing.backfills), it resumes at the cursor.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.backfill import (
        BackfillInput,
        BackfillProgress,
        BackfillStatus,
        PageRequest,
        PageResult,
        TotalRequest,
    )

# Pages per run before continuing as new: a page costs about ten history events.
PAGES_PER_RUN = 100
# How often a paused flow's backfill looks again whether it was resumed.
PAUSED_RECHECK = timedelta(minutes=1)
PAGE_TIMEOUT = timedelta(minutes=10)
TOTAL_TIMEOUT = timedelta(hours=2)
HEARTBEAT_TIMEOUT = timedelta(seconds=30)
# Database or Temporal hiccups heal; keep trying, but no faster than every 30 s at worst.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@workflow.defn(name="BackfillWorkflow")
class BackfillWorkflow:
    @workflow.init
    def __init__(self, input: BackfillInput) -> None:
        self._input = input.model_copy()
        self._status: BackfillStatus = "running"
        self._reason: str | None = None
        self._cancelled = False

    @workflow.signal(name="cancel")
    def cancel(self) -> None:
        self._cancelled = True

    @workflow.query(name="progress")
    def progress(self) -> BackfillProgress:
        state = self._input
        return BackfillProgress(
            workflow_id=workflow.info().workflow_id,
            flow_id=state.flow.id,
            version=state.flow.version,
            status=self._status,
            scanned=state.scanned,
            enrolled=state.enrolled,
            skipped=state.skipped,
            total=state.total,
            cursor=state.cursor,
            reason=self._reason,
        )

    @workflow.run
    async def run(self, input: BackfillInput) -> BackfillProgress:
        state = self._input
        if state.total is None and not self._cancelled:
            state.total = await workflow.execute_activity(
                "backfill_total",
                TotalRequest(
                    flow_id=state.flow.id, version=state.flow.version, page_size=state.page_size
                ),
                result_type=int,
                start_to_close_timeout=TOTAL_TIMEOUT,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=RETRY,
                summary=f"count the audience of {state.flow.id} v{state.flow.version}",
            )
        pages = 0
        while not self._cancelled:
            if pages >= PAGES_PER_RUN or workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(state)
            started = workflow.now()
            page = await self._page()
            pages += 1
            if page.flow_state == "paused":
                self._reason = page.reason
                await self._pause_for(PAUSED_RECHECK)
                continue
            self._reason = None
            if page.flow_state == "gone":
                return self._finish("cancelled", page.reason)
            state.scanned += page.scanned
            state.enrolled += page.enrolled
            state.skipped += page.skipped
            if page.next_after is None:
                return self._finish("completed")
            state.cursor = page.next_after
            # The page's starts may not come faster than the rate: wait out what is left
            # of their share of time (timers are durable, so this survives a restart).
            due = started + timedelta(seconds=page.attempted / state.rate_per_second)
            if due > workflow.now():
                await self._pause_for(due - workflow.now())
        return self._finish("cancelled", "cancelled")

    async def _page(self) -> PageResult:
        state = self._input
        return await workflow.execute_activity(
            "backfill_page",
            PageRequest(
                flow_id=state.flow.id,
                version=state.flow.version,
                after=state.cursor,
                limit=state.page_size,
            ),
            result_type=PageResult,
            start_to_close_timeout=PAGE_TIMEOUT,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RETRY,
            summary=f"enroll contacts after {state.cursor or 'the start'}",
        )

    async def _pause_for(self, delay: timedelta) -> None:
        """A timer that a cancel cuts short."""
        try:
            await workflow.wait_condition(
                lambda: self._cancelled, timeout=delay, timeout_summary="backfill pacing"
            )
        except TimeoutError:
            pass

    def _finish(self, status: BackfillStatus, reason: str | None = None) -> BackfillProgress:
        self._status, self._reason = status, reason
        workflow.logger.info("backfill %s: %s", status, self.progress().model_dump())
        return self.progress()
