"""FlowControlWorkflow: pause, resume or stop every live journey of a flow, page by page
from the journey index, as a durable operation with progress (not a loop inside an HTTP
request or a CLI process that may die half way). Continues as new as it pages."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.flow_control import (
        FlowControlInput, FlowControlProgress, FlowPageRequest, FlowPageResult,
    )

PAGES_PER_RUN = 100
PAGE_TIMEOUT = timedelta(minutes=5)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@workflow.defn(name="FlowControlWorkflow")
class FlowControlWorkflow:
    @workflow.init
    def __init__(self, input: FlowControlInput) -> None:
        self._input = input.model_copy()
        self._done = False

    @workflow.query(name="progress")
    def progress(self) -> FlowControlProgress:
        state = self._input
        return FlowControlProgress(
            workflow_id=workflow.info().workflow_id, flow_id=state.flow_id, signal=state.signal,
            status="completed" if self._done else "running", signalled=state.signalled,
            pages=state.pages)

    @workflow.run
    async def run(self, input: FlowControlInput) -> FlowControlProgress:
        state = self._input
        for _ in range(PAGES_PER_RUN):
            page = await workflow.execute_activity(
                "signal_flow_page", FlowPageRequest(
                    flow_id=state.flow_id, signal=state.signal, reason=state.reason,
                    while_status=state.while_status, after=state.cursor,
                    limit=state.page_size),
                result_type=FlowPageResult, start_to_close_timeout=PAGE_TIMEOUT,
                retry_policy=RETRY, summary=f"{state.signal} journeys after {state.cursor!r}")
            state.signalled += page.signalled
            state.pages += 1
            if page.next_after is None:
                self._done = True
                return self.progress()
            state.cursor = page.next_after
        workflow.continue_as_new(state)
