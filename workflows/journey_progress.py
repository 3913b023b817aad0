"""What a journey writes about itself (a mixin of JourneyWorkflow): its row in the journey
index and a report of every step it leaves, for per-step analytics.

Since "journey-patches-v9" the step reports are held and written in one local activity
(`record_progress`), with the journey's end when it ends, instead of one local activity
per step: a three-step journey runs one report, not four. They are written before
anything that makes the journey wait (a timer or event wait, a pause, a regular activity,
a child workflow, continue-as-new, a migration) and when the run fails, so analytics and
the index show a waiting journey where it waits. A short step that keeps retrying (a
database outage) holds the reports of the steps before it until it goes through: they
lag as the journey does. Runs without the patch report each step as they always did;
with nothing held, flushing awaits nothing, so their replay sees no new command.

Since "journey-patches-v10" the step and status search attributes are held too and
upserted at the same points, once: ops see a journey where it waits and how it ended,
as before, and a run through three short steps no longer upserts (a command, a history
event and a visibility write on the server) for each of them. Like the reports, a short
step that keeps retrying is shown in visibility at the last wait until it goes through;
the journey's state query (what `dripstone journeys` and the API read) and its current
details say the step it is on."""

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributePair
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from domain.contracts.journey_progress import JourneyProgress
    from domain.journey import JourneyIndexRequest, JourneyInput
    from domain.step_outcomes import StepReport
    from domain.steps import Step
    from workflows import search_attributes as sa
    from workflows.journey_patches import JourneyPatches

INDEX_TIMEOUT = timedelta(seconds=30)


class JourneyProgressReports(JourneyPatches):
    _input: JourneyInput
    _key: Callable[[Step, int], str]  # JourneySteps._key: the step's idempotency key
    _action_result: tuple[str | None, str | None]
    _unreported: list[StepReport]  # set in JourneyWorkflow.__init__
    _unshown: dict[str, SearchAttributePair]  # set in JourneyWorkflow.__init__

    def _show(self, *pairs: SearchAttributePair) -> None:
        """Step and status for ops in the Temporal UI: only what changed since the start
        (which sets the first step and "running") or the last upsert, as each upsert is a
        command and a history event. The patch is asked only where that drops something
        (a patch costs a marker and an upsert of its own); journeys from before it
        upserted every pair, changed or not. v10 runs hold the pairs, the last value of
        each key winning, until the next flush."""
        if self._shown_late:
            self._unshown.update((pair.key.name, pair) for pair in pairs)
            return
        updates = sa.changes(workflow.info().typed_search_attributes, *pairs)
        if len(updates) == len(pairs) or not self.patched("journey-sa-on-change"):
            updates = [pair.key.value_set(pair.value) for pair in pairs]
        if updates:
            workflow.upsert_search_attributes(updates)

    def _show_held(self) -> None:
        """The held pairs that differ from what the workflow shows, in one upsert."""
        if not self._unshown:
            return
        pairs, self._unshown = list(self._unshown.values()), {}
        updates = sa.changes(workflow.info().typed_search_attributes, *pairs)
        if updates:
            workflow.upsert_search_attributes(updates)

    async def _report_step(self, step: Step, visit: int, outcome: str, next_id: str | None) -> None:
        """Per-step analytics: this visit and where the journey goes next."""
        status, reason_code = self._action_result
        report = StepReport(
            workflow_id=workflow.info().workflow_id,
            enrollment_id=self._input.enrollment_id,
            flow_id=self._input.flow.id,
            flow_version=self._input.flow.version,
            contact_id=self._input.contact_id,
            step_id=step.id,
            kind=step.kind,
            visit=visit,
            message_key=self._key(step, visit),
            outcome=outcome,
            action_status=status,
            reason_code=reason_code,
            next_step=next_id,
            at=workflow.now(),
        )
        if self._batched:
            self._unreported.append(report)
            return
        await workflow.execute_local_activity(
            "record_step", report, start_to_close_timeout=INDEX_TIMEOUT, summary="step report"
        )

    async def _flush_progress(
        self, end: JourneyIndexRequest | None = None, give_up_after: timedelta | None = None
    ) -> None:
        """Write the held step reports (and `end`, the journey's end) now. Awaits nothing
        when there is nothing to write: runs without the batch replay unchanged.
        `give_up_after`: stop retrying then, and drop the reports (a failing run)."""
        self._show_held()  # a command, not an await: shown as of this task's end
        if not self._unreported and end is None:
            return
        # Taken before the await: a report added meanwhile goes in the next batch.
        steps, self._unreported = self._unreported, []
        try:
            await workflow.execute_local_activity(
                "record_progress",
                JourneyProgress(steps=steps, end=end),
                result_type=bool,
                start_to_close_timeout=INDEX_TIMEOUT,
                schedule_to_close_timeout=give_up_after,
                summary=f"progress: {len(steps)} step(s)" + (", end" if end else ""),
            )
        except FailureError:  # a local activity's error may arrive unwrapped
            if give_up_after is None:
                raise
            workflow.logger.warning("step reports of a failing run not written")

    async def _record_end(self, **how) -> None:
        """The journey's end in the index (with its held reports, in runs that batch)."""
        if self._batched:
            await self._flush_progress(end=self._index_request(ended=True, **how))
        else:
            await self._record_in_index(ended=True, **how)

    async def _record_in_index(self, ended: bool, **child) -> None:
        """Ours (or, with `child`, a sub-flow journey about to start) in the index."""
        await workflow.execute_local_activity(
            "record_journey",
            self._index_request(ended, **child),
            start_to_close_timeout=INDEX_TIMEOUT,
            summary="journey index",
        )

    def _index_request(self, ended: bool, **child) -> JourneyIndexRequest:
        own = {
            "workflow_id": workflow.info().workflow_id,
            "contact_id": self._input.contact_id,
            "flow_id": self._input.flow.id,
            "flow_version": self._input.flow.version,
            "enrollment_id": self._input.enrollment_id,
        }
        return JourneyIndexRequest(**{**own, **child}, ended=ended)
