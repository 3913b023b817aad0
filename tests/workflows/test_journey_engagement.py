"""A journey deciding on engagement with its own earlier email, on the time-skipping
server: send, wait, then branch on whether that very step's email was opened."""

from activities.outbox import Outbox
from domain.events import EventType
from domain.journey import JourneyStatus
from projections.contacts import load_snapshot
from projections.event_store import ingest
from tests.journey_harness import (
    contact,
    enroll_and_finish,
    event,
    flow_from,
    journey_worker,
    outbox,
)

FOLLOW_UP = flow_from(
    {
        "id": "follow-up",
        "steps": [
            {"id": "hello", "kind": "send_email", "subject": "Welcome", "body": "."},
            {"id": "pause", "kind": "wait", "delay": "2d"},
            {
                "id": "opened",
                "kind": "branch",
                "condition": {"kind": "opened_email", "flow_id": "follow-up", "step_id": "hello"},
                "then": "engaged",
                "otherwise": "nudge",
            },
            {"id": "engaged", "kind": "add_tag", "tag": "engaged", "next": "end"},
            {
                "id": "nudge",
                "kind": "send_email",
                "subject": "Did you see our welcome?",
                "body": ".",
            },
            {"id": "end", "kind": "exit"},
        ],
    }
)


class OpenedBy(Outbox):
    """The real outbox, whose recipients in `openers` open the email at once: the open
    comes back as the provider's webhook reports it, by message only, and the message's
    flow step is known from the message.sent event the send records."""

    def __init__(self, engine, openers: set[str]):
        super().__init__(engine, "email")
        self.openers = openers

    def send(self, message):
        provider_id = super().send(message)
        if message.contact_id in self.openers:
            ingest(
                self.engine,
                [
                    event(
                        message.contact_id,
                        EventType.EMAIL_OPENED,
                        {"message_key": message.idempotency_key},
                    )
                ],
            )
        return provider_id


async def test_branch_on_opening_the_flows_own_earlier_email(time_skipping_env, engine, settings):
    ingest(
        engine, contact("reader", email="r@example.com") + contact("ignorer", email="i@example.com")
    )
    email = OpenedBy(engine, openers={"reader"})
    async with journey_worker(time_skipping_env.client, engine, settings, email=email) as router:
        results = {
            c: await enroll_and_finish(time_skipping_env, router, engine, FOLLOW_UP, c)
            for c in ("reader", "ignorer")
        }

    assert [v.step_id for v in results["reader"].trail] == [
        "hello",
        "pause",
        "opened",
        "engaged",
        "end",
    ]
    assert results["reader"].trail[2].outcome == "condition true"
    assert [m.subject for m in outbox(engine, "reader")] == ["Welcome"]

    assert [v.step_id for v in results["ignorer"].trail] == [
        "hello",
        "pause",
        "opened",
        "nudge",
        "end",
    ]
    assert results["ignorer"].trail[2].outcome == "condition false"
    assert [m.subject for m in outbox(engine, "ignorer")] == ["Welcome", "Did you see our welcome?"]

    assert all(r.status == JourneyStatus.EXITED for r in results.values())
    with engine.connect() as conn:
        assert load_snapshot(conn, "reader").tags == frozenset({"engaged"})
        assert load_snapshot(conn, "ignorer").tags == frozenset()
