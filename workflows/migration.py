"""MigrationWorkflow: move every live journey of some versions of a flow to another
version, page by page from the journey index, as a durable operation with progress (a
worker that dies half way is replaced and the operation goes on at its cursor). Each
journey gets a `migrate` order and takes it at its own next safe point; this workflow
does not wait for that (the progress counts, from the index, who has not moved yet)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.migration_plan import (
        MigrationInput, MigrationPageRequest, MigrationPageResult, MigrationProgress,
    )

PAGES_PER_RUN = 100
PAGE_TIMEOUT = timedelta(minutes=5)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@workflow.defn(name="MigrationWorkflow")
class MigrationWorkflow:
    @workflow.init
    def __init__(self, input: MigrationInput) -> None:
        self._input = input.model_copy()
        self._done = False

    @workflow.query(name="progress")
    def progress(self) -> MigrationProgress:
        state = self._input
        return MigrationProgress(
            migration_id=state.migration_id, workflow_id=workflow.info().workflow_id,
            flow_id=state.flow_id, to_version=state.to_version,
            from_versions=state.from_versions, status="completed" if self._done else "running",
            signalled=state.signalled, not_running=state.not_running, pages=state.pages)

    @workflow.run
    async def run(self, input: MigrationInput) -> MigrationProgress:
        state = self._input
        for _ in range(PAGES_PER_RUN):
            page = await workflow.execute_activity(
                "migrate_journey_page", MigrationPageRequest(
                    migration_id=state.migration_id, flow_id=state.flow_id,
                    to_version=state.to_version, from_versions=state.from_versions,
                    mapping=state.mapping, after=state.cursor, limit=state.page_size),
                result_type=MigrationPageResult, start_to_close_timeout=PAGE_TIMEOUT,
                retry_policy=RETRY, summary=f"migrate journeys after {state.cursor!r} "
                f"to v{state.to_version}")
            state.signalled += page.signalled
            state.not_running += page.not_running
            state.pages += 1
            if page.next_after is None:
                self._done = True
                return self.progress()
            state.cursor = page.next_after
        workflow.continue_as_new(state)
