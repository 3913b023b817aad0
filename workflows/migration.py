"""MigrationWorkflow: move every live journey of some versions of a flow to another
version, page by page from the journey index, as a durable operation with progress (a
worker that dies half way is replaced and the operation goes on at its cursor). Each
journey gets a `migrate` order and takes it at its own next safe point; this workflow
does not wait for that (the progress counts, from the index, who has not moved yet)."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.migration_plan import (
        MigrationInput,
        MigrationPageRequest,
        MigrationPageResult,
        MigrationProgress,
    )
    from workflows.paged_operation import page_through


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
            migration_id=state.migration_id,
            workflow_id=workflow.info().workflow_id,
            flow_id=state.flow_id,
            to_version=state.to_version,
            from_versions=state.from_versions,
            status="completed" if self._done else "running",
            signalled=state.signalled,
            not_running=state.not_running,
            pages=state.pages,
        )

    @workflow.run
    async def run(self, input: MigrationInput) -> MigrationProgress:
        state = self._input

        def counted(page: MigrationPageResult) -> None:
            state.signalled += page.signalled
            state.not_running += page.not_running

        await page_through(
            state,
            "migrate_journey_page",
            lambda: MigrationPageRequest(
                migration_id=state.migration_id,
                flow_id=state.flow_id,
                to_version=state.to_version,
                from_versions=state.from_versions,
                mapping=state.mapping,
                after=state.cursor,
                limit=state.page_size,
            ),
            MigrationPageResult,
            lambda: f"migrate journeys after {state.cursor!r} " f"to v{state.to_version}",
            counted,
        )
        self._done = True
        return self.progress()
