"""The activities of MailingWorkflow: select a step's recipients a page at a time, send
the due ones a batch at a time, and move the mailing's status. Each reads the mailing
from the catalogue by id (its document is fixed once it left draft), so no recipient and
no document travels through Temporal's history."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity

from activities.mailing_delivery import MailingDelivery
from domain.mailing import Mailing
from domain.mailing_runs import (
    MailingTransition,
    SelectRequest,
    SelectResult,
    SendBatchRequest,
    SendBatchResult,
)
from domain.scheduling.zones import Zones
from projections import mailing_recipients as recipients
from projections import mailings as catalogue
from projections.mailing_audience import select_page


class MailingActivities:
    def __init__(self, engine: Engine, delivery: MailingDelivery, zones: Zones):
        self.engine, self.delivery, self.zones = engine, delivery, zones

    @activity.defn(name="select_mailing_recipients")
    def select_recipients(self, request: SelectRequest) -> SelectResult:
        mailing = self._mailing(request.mailing_id)
        page = select_page(
            self.engine,
            mailing,
            mailing.step(request.step_id),
            request.after,
            request.limit,
            request.now,
            self.zones,
        )
        return SelectResult(
            selected=page.selected,
            scanned=page.scanned,
            next_after=page.next_after,
            status=self._status(request.mailing_id),
        )

    @activity.defn(name="send_mailing_batch")
    def send_batch(self, request: SendBatchRequest) -> SendBatchResult:
        """The next due recipients, unless the catalogue says the mailing is paused or
        cancelled (asked again before every chunk): a pause or cancel whose signal was
        lost holds here."""
        mailing = self._mailing(request.mailing_id)

        def held() -> bool:
            return self._status(request.mailing_id) in ("paused", "cancelled")

        activity.heartbeat()  # before the batch's reads: a slow start must not look dead
        result = SendBatchResult()
        if not held():
            with self.engine.connect() as conn:
                due = recipients.due(
                    conn, request.mailing_id, request.step_id, request.now, request.limit
                )
            if due:
                result = self.delivery.deliver(
                    mailing,
                    mailing.step(request.step_id),
                    due,
                    heartbeat=activity.heartbeat,
                    stopped=held,
                )
        result.remaining_due, result.next_due_at = recipients.outlook(
            self.engine, request.mailing_id, request.step_id, request.now, request.limit
        )
        if not result.remaining_due and result.next_due_at is None:
            with self.engine.connect() as conn:
                result.counted = recipients.outcomes(conn, request.mailing_id, request.step_id)
        result.status = self._status(request.mailing_id)
        return result

    @activity.defn(name="mailing_transition")
    def transition(self, request: MailingTransition) -> str:
        """start / step / finish as the workflow reaches them, or check: returns the
        status the workflow must obey. Idempotent: a retried start or finish finds the
        status already moved and leaves it. A cancelled mailing stays cancelled."""
        with self.engine.begin() as conn:
            status = catalogue.status_of(conn, request.mailing_id)
            if request.step_id is not None and status != "cancelled":
                catalogue.note_step(conn, request.mailing_id, request.step_id)
            if request.action == "start" and status == "scheduled":
                return catalogue.transition(conn, request.mailing_id, "start")
            if request.action == "finish" and status in ("scheduled", "sending", "paused"):
                # A pause that came during the last batch has nothing left to hold.
                return catalogue.transition(conn, request.mailing_id, "finish")
            return status

    def _status(self, mailing_id: str) -> str:
        with self.engine.connect() as conn:
            return catalogue.status_of(conn, mailing_id)

    def _mailing(self, mailing_id: str) -> Mailing:
        with self.engine.connect() as conn:
            return catalogue.load(conn, mailing_id)


def mailing_activities(engine: Engine, delivery: MailingDelivery, zones: Zones) -> list:
    mailings = MailingActivities(engine, delivery, zones)
    return [mailings.select_recipients, mailings.send_batch, mailings.transition]
