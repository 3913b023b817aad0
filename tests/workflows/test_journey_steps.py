"""Each spine step kind in a real journey on the time-skipping server."""

from sqlalchemy import select

from activities.outbox import Outbox
from domain.journey import JourneyStatus
from projections.contacts import load_snapshot
from projections.event_store import ingest, read_contact
from projections.schema import message_ledger, sent_messages
from tests.journey_harness import (
    contact,
    enroll_and_finish,
    flow_from,
    journey_result,
    journey_worker,
    outbox,
)

BRANCHING = flow_from(
    {
        "id": "branchy",
        "steps": [
            {
                "id": "vip",
                "kind": "branch",
                "condition": {
                    "kind": "any",
                    "conditions": [
                        {"kind": "has_tag", "tag": "vip"},
                        {
                            "kind": "attribute",
                            "field": "lifetime_value",
                            "op": "gte",
                            "value": 1000,
                        },
                    ],
                },
                "then": "vip-mail",
                "otherwise": "std-mail",
            },
            {
                "id": "vip-mail",
                "kind": "send_email",
                "subject": "For our best customers",
                "body": ".",
                "next": "end",
            },
            {"id": "std-mail", "kind": "send_email", "subject": "Hello", "body": "."},
            {"id": "end", "kind": "exit"},
        ],
    }
)


async def test_branch_takes_both_paths(time_skipping_env, engine, settings):
    ingest(engine, contact("tagged", email="t@example.com", tags=("vip",)))
    ingest(engine, contact("rich", email="r@example.com", lifetime_value=2500))
    ingest(engine, contact("plain", email="p@example.com", lifetime_value=10))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        results = {
            c: await enroll_and_finish(time_skipping_env, router, engine, BRANCHING, c)
            for c in ("tagged", "rich", "plain")
        }
    assert [m.subject for m in outbox(engine, "tagged")] == ["For our best customers"]
    assert [m.subject for m in outbox(engine, "rich")] == ["For our best customers"]
    assert [m.subject for m in outbox(engine, "plain")] == ["Hello"]
    assert [v.step_id for v in results["plain"].trail] == ["vip", "std-mail", "end"]
    assert all(r.status == JourneyStatus.EXITED for r in results.values())


class CrashAfterDelivery(Outbox):
    """The real outbox, but the first call dies after the message went out, as a worker
    killed between the provider call and recording the result would."""

    def __init__(self, engine):
        super().__init__(engine, "email")
        self.calls = 0

    def send(self, message):
        self.calls += 1
        provider_id = super().send(message)
        if self.calls == 1:
            raise ConnectionResetError("worker lost after the provider accepted the message")
        return provider_id


async def test_send_that_fails_after_sending_is_retried_and_sends_once(
    time_skipping_env, engine, settings
):
    flow = flow_from(
        {
            "id": "once",
            "steps": [{"id": "mail", "kind": "send_email", "subject": "Exactly once", "body": "."}],
        }
    )
    ingest(engine, contact("c1", email="c1@example.com"))
    flaky = CrashAfterDelivery(engine)
    async with journey_worker(time_skipping_env.client, engine, settings, email=flaky) as router:
        state = await enroll_and_finish(time_skipping_env, router, engine, flow, "c1")
    assert state.status == JourneyStatus.COMPLETED
    assert flaky.calls == 1  # the retry found the delivery and did not call the provider again
    assert len(outbox(engine, "c1")) == 1
    with engine.connect() as conn:
        ledger = conn.execute(select(message_ledger)).one()
        assert (ledger.status, ledger.attempts, ledger.uncertain_retries) == ("sent", 2, 0)
        assert conn.execute(select(sent_messages.c.step_id)).scalars().all() == ["mail"]


async def test_tag_steps_append_events_and_update_the_read_model(
    time_skipping_env, engine, settings
):
    flow = flow_from(
        {
            "id": "tags",
            "steps": [
                {"id": "add", "kind": "add_tag", "tag": "customer"},
                {"id": "drop", "kind": "remove_tag", "tag": "lead"},
            ],
        }
    )
    ingest(engine, contact("c1", tags=("lead",)))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        await enroll_and_finish(time_skipping_env, router, engine, flow, "c1")
    with engine.connect() as conn:
        assert load_snapshot(conn, "c1").tags == frozenset({"customer"})
        journey_events = [
            (e.type, e.payload) for e in read_contact(conn, "c1") if e.source == "dripstone.journey"
        ]
    assert journey_events == [
        ("contact.tag_added", {"tag": "customer"}),
        ("contact.tag_removed", {"tag": "lead"}),
    ]


async def test_sms_without_phone_skips_or_exits_as_configured(time_skipping_env, engine, settings):
    def sms_flow(flow_id, policy):
        return flow_from(
            {
                "id": flow_id,
                "steps": [
                    {"id": "text", "kind": "send_sms", "text": "Hi", "if_no_phone": policy},
                    {"id": "after", "kind": "send_email", "subject": "After the SMS", "body": "."},
                ],
            }
        )

    ingest(engine, contact("nophone", email="n@example.com"))
    # Stored before the edge refused such numbers (or written straight to the store).
    ingest(engine, contact("badphone", email="b@example.com", phone="12"))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        skipped = await enroll_and_finish(
            time_skipping_env, router, engine, sms_flow("sms-skip", "skip"), "nophone"
        )
        exited = await enroll_and_finish(
            time_skipping_env, router, engine, sms_flow("sms-exit", "exit"), "nophone"
        )
        invalid = await enroll_and_finish(
            time_skipping_env, router, engine, sms_flow("sms-exit", "exit"), "badphone"
        )
        # The same trigger enrolled it in the skipping flow too (published before).
        invalid_skipped = await journey_result(time_skipping_env, "journey/sms-skip/badphone")
    assert skipped.status == JourneyStatus.COMPLETED
    assert exited.status == JourneyStatus.EXITED
    assert exited.exit_reason == "step text: contact has no phone number"
    # The real reason, not "no phone number": the number is there and is not valid (the
    # number itself stays out of the trail: personal data).
    assert invalid.exit_reason == "step text: contact's phone number is not a valid number (E.164)"
    assert invalid_skipped.trail[0].outcome == (
        "sms skipped: contact's phone number is not a valid number (E.164)"
    )
    assert [m.subject for m in outbox(engine, "nophone")] == ["After the SMS"]


async def test_missing_merge_value_is_never_sent_as_a_placeholder(
    time_skipping_env, engine, settings
):
    flow = flow_from(
        {
            "id": "merge",
            "steps": [
                {
                    "id": "strict",
                    "kind": "send_email",
                    "subject": "Hi {{ first_name }}",
                    "body": ".",
                },
                {
                    "id": "fallback",
                    "kind": "send_email",
                    "subject": "Hi {{ first_name | default('there') }}",
                    "body": ".",
                },
            ],
        }
    )
    # Some contacts have a first name (so publishing accepts the tag); this one does not.
    ingest(engine, contact("named", email="n@example.com", first_name="Nia"))
    ingest(engine, contact("anon", email="a@example.com"))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        state = await enroll_and_finish(time_skipping_env, router, engine, flow, "anon")
    assert [m.subject for m in outbox(engine, "anon")] == ["Hi there"]
    assert "first_name" in state.trail[0].outcome and "skipped" in state.trail[0].outcome


async def test_a_missing_merge_value_can_fail_the_journey_with_the_reason(
    time_skipping_env, engine, settings
):
    flow = flow_from(
        {
            "id": "merge-strict",
            "steps": [
                {
                    "id": "strict",
                    "kind": "send_email",
                    "subject": "Hi {{ first_name }}",
                    "body": ".",
                    "on_missing_value": "fail",
                },
                {"id": "never", "kind": "send_email", "subject": "Not reached", "body": "."},
            ],
        }
    )
    ingest(engine, contact("named2", email="n2@example.com", first_name="Nia"))
    ingest(engine, contact("anon2", email="a2@example.com"))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        state = await enroll_and_finish(time_skipping_env, router, engine, flow, "anon2")
    assert state.status == JourneyStatus.EXITED
    assert state.exit_reason.startswith("step strict:") and "first_name" in state.exit_reason
    assert outbox(engine, "anon2") == []
