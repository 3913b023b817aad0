"""MailingWorkflow: one mailing, all its steps, in one workflow [003].

Per step: wait for its time (now, a delay after the previous step finished, a moment, or
a local time, for which selection starts as soon as the earliest zone could be due),
select its recipients into the database a page at a time, then send the due ones a batch
at a time, sleeping until the next recipient's local time comes. The history holds a few
events per thousand recipients and no address: recipients live in `mailing_recipients`.

Signals: `pause` holds sending after the current batch (timers keep running, so a step
whose time passed during a pause sends on resume), `resume`, `cancel` (stops after the
current batch). The catalogue's status is the truth, signals only make it quick: every
activity reports it, and a paused run looks again now and then, so a pause, resume or
cancel whose signal was lost (the workflow not started yet, Temporal unreachable from
the API) still takes effect. State, cursors and counts continue as new.
"""

from datetime import UTC, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.mailing_runs import (
        MailingProgress,
        MailingRunInput,
        MailingTransition,
        SelectRequest,
        SelectResult,
        SendBatchRequest,
        SendBatchResult,
        StepTiming,
        StepTotals,
    )

# Zones run from UTC-12 to UTC+14: a local time is due somewhere at most 14 h before the
# same wall-clock time in UTC, which is when selecting its recipients may start.
EARLIEST_ZONE = timedelta(hours=14)
ACTIVITIES_PER_RUN = 500
PAUSED_RECHECK = timedelta(minutes=5)
SELECT_TIMEOUT = timedelta(minutes=5)
BATCH_TIMEOUT = timedelta(minutes=10)
# A send batch heartbeats after every chunk it records: a worker that died is noticed in
# seconds, and the retry asks the ledger what the dead attempt already sent.
BATCH_HEARTBEAT = timedelta(seconds=20)
# Database or provider hiccups heal: keep trying, no faster than every 30 s at worst.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@workflow.defn(name="MailingWorkflow")
class MailingWorkflow:
    @workflow.init
    def __init__(self, input: MailingRunInput) -> None:
        self._state = input.model_copy(deep=True)
        self._calls = 0

    @workflow.signal(name="pause")
    def pause(self) -> None:
        self._state.paused = True

    @workflow.signal(name="resume")
    def resume(self) -> None:
        self._state.paused = False

    @workflow.signal(name="cancel")
    def cancel(self) -> None:
        self._state.cancelled = True

    @workflow.query(name="progress")
    def progress(self) -> MailingProgress:
        state = self._state
        steps = state.plan.steps
        current = steps[state.step_index].id if state.step_index < len(steps) else None
        return MailingProgress(
            mailing_id=state.plan.mailing_id,
            step_id=current,
            phase=state.phase,
            paused=state.paused,
            totals=state.totals,
        )

    @workflow.run
    async def run(self, input: MailingRunInput) -> MailingProgress:
        state = self._state
        steps = state.plan.steps
        while state.step_index < len(steps) and not state.cancelled:
            step = steps[state.step_index]
            totals = state.totals.setdefault(step.id, StepTotals())
            if state.phase == "wait":
                await self._sleep_until(self._start_of(step))
                while not state.cancelled:
                    await self._while_paused()
                    if state.cancelled:
                        break
                    # Again after a pause that reached only the catalogue: the status
                    # moves to sending once the pause is over.
                    await self._transition("start" if state.step_index == 0 else "step", step.id)
                    if not state.paused:
                        break
                if state.cancelled:
                    break
                state.phase, state.cursor = "select", None
            if state.phase == "select":
                await self._select(step, totals)
            if state.phase == "send":
                await self._send(step, totals)
            if state.cancelled:
                break
            state.previous_finished_at = workflow.now()
            state.step_index += 1
            state.phase = "wait" if state.step_index < len(steps) else "done"
        if not state.cancelled:
            state.phase = "done"
            await self._transition("finish", None)
        return self.progress()

    def _start_of(self, step: StepTiming) -> datetime:
        state, when = self._state, step.when
        if when is None or not when.given():
            return workflow.now()
        if when.delay is not None:
            return (state.previous_finished_at or workflow.now()) + when.delay
        if when.at is not None:
            return when.at
        return when.local_at.replace(tzinfo=UTC) - EARLIEST_ZONE

    async def _select(self, step: StepTiming, totals: StepTotals) -> None:
        state = self._state
        while await self._ready():
            page: SelectResult = await self._call(
                "select_mailing_recipients",
                SelectRequest(
                    mailing_id=state.plan.mailing_id,
                    step_id=step.id,
                    after=state.cursor,
                    now=workflow.now(),
                ),
                SelectResult,
                f"select {step.id} after {state.cursor or 'the start'}",
                start_to_close_timeout=SELECT_TIMEOUT,
            )
            totals.selected += page.selected
            state.cursor = page.next_after
            self._obey(page.status)
            if page.next_after is None:
                state.phase = "send"
                return

    async def _send(self, step: StepTiming, totals: StepTotals) -> None:
        state = self._state
        while await self._ready():
            batch: SendBatchResult = await self._call(
                "send_mailing_batch",
                SendBatchRequest(
                    mailing_id=state.plan.mailing_id, step_id=step.id, now=workflow.now()
                ),
                SendBatchResult,
                f"send {step.id}",
                start_to_close_timeout=BATCH_TIMEOUT,
                heartbeat_timeout=BATCH_HEARTBEAT,
            )
            totals.add(batch)
            if batch.counted is not None and workflow.patched("mailing-counted-totals"):
                totals.settle(batch.counted)
            self._obey(batch.status)
            if batch.remaining_due:
                continue
            if batch.next_due_at is None:
                return
            # Recipients in later zones: sleep until the next one is due.
            await self._sleep_until(batch.next_due_at)

    def _obey(self, status: str | None, *, may_resume: bool = False) -> None:
        """The catalogue's status, as an activity just read it. Only the paused run's
        own check resumes it: a batch that read "sending" just before a pause must not
        undo the pause signal that came in meanwhile."""
        if status == "cancelled":
            self._state.cancelled = True
        elif status == "paused":
            self._state.paused = True
        elif may_resume and status in ("sending", "scheduled"):
            self._state.paused = False

    async def _call(self, name: str, request, result_type, summary: str, **timeouts):
        self._calls += 1
        return await workflow.execute_activity(
            name, request, result_type=result_type, retry_policy=RETRY, summary=summary, **timeouts
        )

    async def _transition(self, action: str, step_id: str | None) -> None:
        self._calls += 1
        status = await workflow.execute_activity(
            "mailing_transition",
            MailingTransition(
                mailing_id=self._state.plan.mailing_id, action=action, step_id=step_id
            ),
            result_type=str,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RETRY,
        )
        self._obey(status, may_resume=action == "check")

    async def _sleep_until(self, moment: datetime) -> None:
        """A durable timer that a cancel cuts short."""
        delay = moment - workflow.now()
        if delay <= timedelta(0):
            return
        try:
            await workflow.wait_condition(
                lambda: self._state.cancelled,
                timeout=delay,
                timeout_summary="mailing: waiting for send time",
            )
        except TimeoutError:
            pass

    async def _while_paused(self) -> None:
        state = self._state
        while state.paused and not state.cancelled:
            try:
                await workflow.wait_condition(
                    lambda: not state.paused or state.cancelled,
                    timeout=PAUSED_RECHECK,
                    timeout_summary="mailing: paused",
                )
            except TimeoutError:
                await self._transition("check", None)

    async def _ready(self) -> bool:
        """Before each activity: wait out a pause; False once cancelled; continue as new
        when the history grew (the state carries the cursor, so the next run goes on)."""
        await self._while_paused()
        if self._state.cancelled:
            return False
        self._maybe_continue_as_new()
        return True

    def _maybe_continue_as_new(self) -> None:
        if self._calls >= ACTIVITIES_PER_RUN or workflow.info().is_continue_as_new_suggested():
            workflow.continue_as_new(self._state)
