"""A send batch's heartbeats and counts as Temporal sees them (ActivityEnvironment runs
the real activity): alive before its first write, and a step's totals as the database
holds them even when an earlier attempt's result was lost."""

from datetime import UTC, datetime

from sqlalchemy import func, select
from temporalio.testing import ActivityEnvironment

from activities.mailing_delivery import MailingDelivery
from activities.mailings import MailingActivities
from activities.outbox import Outbox
from domain.mailing import Mailing
from domain.mailing_runs import SendBatchRequest
from domain.scheduling.zones import Zones
from projections import mailings as catalogue
from projections.mailing_audience import select_page
from projections.schema import message_ledger, outbox_messages
from tests.mailings.test_v1_mailings import chain, people


def mailing_selected(engine, mailing_id: str) -> Mailing:
    people(engine)
    mailing = Mailing.model_validate(chain(mailing_id))
    with engine.begin() as conn:
        catalogue.save(conn, mailing, chain(mailing_id))
    select_page(engine, mailing, mailing.steps[0], None, 100, datetime.now(UTC), Zones("UTC"))
    return mailing


def rows(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_batch_heartbeats_before_it_claims_or_sends_anything(engine):
    mailing_selected(engine, "early")
    delivery = MailingDelivery(
        engine, Outbox(engine, "email"), Outbox(engine, "sms"), "news@example.com"
    )
    activities = MailingActivities(engine, delivery, Zones("UTC"))
    written_at_beat = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: written_at_beat.append(
        (rows(engine, message_ledger), rows(engine, outbox_messages))
    )
    result = env.run(
        activities.send_batch,
        SendBatchRequest(mailing_id="early", step_id="main", now=datetime.now(UTC)),
    )
    assert result.sent == 2
    assert written_at_beat[0] == (0, 0)  # alive before the slow part, not only after it
    assert written_at_beat[-1] == (2, 2)


def test_the_last_batch_reports_what_the_database_holds_when_a_result_was_lost(engine):
    mailing = mailing_selected(engine, "lost")
    delivery = MailingDelivery(
        engine, Outbox(engine, "email"), Outbox(engine, "sms"), "news@example.com"
    )
    # An attempt that sent and recorded two recipients, then timed out: Temporal threw
    # its result away, and the retry finds only the other two due.
    lost = delivery.deliver(mailing, mailing.steps[0], ["m-1", "m-2"])
    assert lost.sent == 2
    activities = MailingActivities(engine, delivery, Zones("UTC"))
    retry = ActivityEnvironment().run(
        activities.send_batch,
        SendBatchRequest(mailing_id="lost", step_id="main", now=datetime.now(UTC)),
    )
    assert (retry.sent, retry.skipped) == (0, {"no_address": 1, "unsubscribed": 1})
    assert retry.counted is not None
    assert (retry.counted.sent, retry.counted.failed, retry.counted.skipped) == (
        2,
        0,
        {"no_address": 1, "unsubscribed": 1},
    )


def test_a_batch_with_more_still_due_leaves_the_count_to_the_last_one(engine):
    mailing_selected(engine, "more")
    delivery = MailingDelivery(
        engine, Outbox(engine, "email"), Outbox(engine, "sms"), "news@example.com"
    )
    activities = MailingActivities(engine, delivery, Zones("UTC"))
    first = ActivityEnvironment().run(
        activities.send_batch,
        SendBatchRequest(mailing_id="more", step_id="main", now=datetime.now(UTC), limit=2),
    )
    assert (first.remaining_due, first.counted) == (2, None)
