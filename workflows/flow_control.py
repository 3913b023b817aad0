"""FlowControlWorkflow: pause, resume or stop every live journey of a flow, page by page
from the journey index, as a durable operation with progress (not a loop inside an HTTP
request or a CLI process that may die half way). Continues as new as it pages."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.flow_control import (
        FlowControlInput,
        FlowControlProgress,
        FlowPageRequest,
        FlowPageResult,
    )
    from workflows.paged_operation import page_through


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
            workflow_id=workflow.info().workflow_id,
            flow_id=state.flow_id,
            signal=state.signal,
            status="completed" if self._done else "running",
            signalled=state.signalled,
            pages=state.pages,
        )

    @workflow.run
    async def run(self, input: FlowControlInput) -> FlowControlProgress:
        state = self._input

        def counted(page: FlowPageResult) -> None:
            state.signalled += page.signalled

        await page_through(
            state,
            "signal_flow_page",
            lambda: FlowPageRequest(
                flow_id=state.flow_id,
                signal=state.signal,
                reason=state.reason,
                while_status=state.while_status,
                after=state.cursor,
                limit=state.page_size,
            ),
            FlowPageResult,
            lambda: f"{state.signal} journeys after {state.cursor!r}",
            counted,
        )
        self._done = True
        return self.progress()
