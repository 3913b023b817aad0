"""Dispatch records: an event is stored with a promise to route it, and kept until it has
reached Temporal. "Temporal down" is a real client pointed at a port nothing listens on;
the dispatcher then routes through the real test server."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from temporalio.client import Client

from codec.converter import data_converter
from projections import dispatches
from projections.event_store import ingest
from projections.flow_catalogue import publish
from projections.schema import event_dispatches
from routing.dispatch import Backoff, Dispatcher
from routing.ingestion import ingest_events
from routing.router import Router
from settings import Settings
from tests.journey_harness import contact, event, flow_from, journey_result, journey_worker, outbox

QUICK = Backoff(initial=timedelta(milliseconds=1), ceiling=timedelta(milliseconds=10))


def mail_flow(flow_id: str, **extra):
    return flow_from(
        {
            "id": flow_id,
            **extra,
            "steps": [{"id": "mail", "kind": "send_email", "subject": "Hello", "body": "."}],
        }
    )


def pending(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(event_dispatches).order_by(event_dispatches.c.position)).all()


async def unreachable_router(engine, settings) -> Router:
    client = await Client.connect(
        "127.0.0.1:1", lazy=True, data_converter=data_converter(Settings())
    )
    return Router(client, engine, settings.task_queue)


async def settle(dispatcher: Dispatcher, engine) -> None:
    """Passes until nothing is pending (each retry waits for its backoff to run out)."""
    for _ in range(200):
        await dispatcher.deliver_due()
        if not pending(engine):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"still pending: {pending(engine)}")


async def test_the_dispatch_record_is_written_with_the_event_and_removed_once_routed(
    time_skipping_env, engine, settings
):
    with engine.begin() as conn:
        publish(conn, mail_flow("dispatch-ok"))
    ingest(engine, contact("dp1", email="dp1@example.com"))
    signup = event("dp1", "form.submitted", {"form_id": "x"})
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        # Appended without routing (as if the process died right after its commit).
        assert ingest(engine, [signup], dispatch=True) == [signup]
        assert ingest(engine, [signup], dispatch=True) == []  # a duplicate adds no record
        assert [row.event_id for row in pending(engine)] == [signup.event_id]
        with engine.begin() as conn:  # nothing is due while the fast path may still route it
            assert dispatches.claim_due(conn, datetime.now(UTC), 10) == []
        with engine.begin() as conn:  # ... but once its grace has passed, it is
            due = dispatches.claim_due(conn, datetime.now(UTC) + timedelta(minutes=1), 10)
        assert [e.event_id for e in due] == [signup.event_id]
        await router.route(due, redelivery=True)
        state = await journey_result(time_skipping_env, "journey/dispatch-ok/dp1")
    assert state.status == "completed"
    assert len(outbox(engine, "dp1")) == 1


async def test_events_taken_in_while_temporal_is_down_reach_their_journeys_later(
    time_skipping_env, engine, settings
):
    with engine.begin() as conn:
        publish(conn, mail_flow("dispatch-down", re_entry="after_exit"))
    ingest(engine, contact("dp2", email="dp2@example.com"))
    first, second = (event("dp2", "form.submitted", {"form_id": "x"}) for _ in range(2))
    down = await unreachable_router(engine, settings)
    appended, routed = await ingest_events(engine, down, [first], QUICK)
    assert appended == [first] and routed == []
    [record] = pending(engine)
    assert record.attempts == 1 and "connect" in record.last_error.lower()
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        # Temporal is back, but the contact's first event has not been routed yet: the
        # second waits behind it, so the journey never sees them out of order.
        appended, routed = await ingest_events(engine, router, [second], QUICK)
        assert appended == [second] and routed == []
        await settle(Dispatcher(engine, router, QUICK), engine)
        state = await journey_result(time_skipping_env, "journey/dispatch-down/dp2")
    assert state.status == "completed"
    # The first event enrolled the contact; the second reached that journey (or, after
    # it ended, enrolled again under after_exit): nothing was lost either way.
    assert len(outbox(engine, "dp2")) in (1, 2)
    assert pending(engine) == []


async def test_a_redelivered_event_does_not_re_enroll_after_its_journey_ended(
    time_skipping_env, engine, settings
):
    """after_exit allows a new journey once the last one ended, but not from the same
    enrollment: a dispatch retried after its first delivery went through (the process
    died before deleting the record) finds its own run by the journey's memo."""
    with engine.begin() as conn:
        publish(conn, mail_flow("dispatch-again", re_entry="after_exit"))
    ingest(engine, contact("dp3", email="dp3@example.com"))
    signup = event("dp3", "form.submitted", {"form_id": "x"})
    ingest(engine, [signup], dispatch=True)
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        [routed] = await router.route([signup])
        await journey_result(time_skipping_env, routed.workflow_id)
        first_run = (
            await time_skipping_env.client.get_workflow_handle(routed.workflow_id).describe()
        ).run_id
        [again] = await router.route([signup], redelivery=True)
        latest = await time_skipping_env.client.get_workflow_handle(routed.workflow_id).describe()
    assert again.outcome == "enrolled"
    assert latest.run_id == first_run
    assert len(outbox(engine, "dp3")) == 1


async def test_concurrent_duplicates_of_an_event_make_one_journey(
    time_skipping_env, engine, settings
):
    flow = flow_from(
        {
            "id": "dispatch-race",
            "re_entry": "after_exit",
            "steps": [
                {"id": "hold", "kind": "wait", "delay": "1h"},
                {"id": "mail", "kind": "send_email", "subject": "Hello", "body": "."},
            ],
        }
    )
    with engine.begin() as conn:
        publish(conn, flow)
    ingest(engine, contact("dp4", email="dp4@example.com"))
    signup = event("dp4", "form.submitted", {"form_id": "x"})
    ingest(engine, [signup])
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        results = await asyncio.gather(*(router.route([signup]) for _ in range(5)))
        state = await journey_result(time_skipping_env, "journey/dispatch-race/dp4")
    # Signal-with-start: every call lands in the same run; the journey drops repeats.
    assert {r.workflow_id for [r] in results} == {"journey/dispatch-race/dp4"}
    # (Its own message.sent may reach it too, through the dispatcher.)
    assert state.seen_event_ids.count(signup.event_id) == 1
    assert len(outbox(engine, "dp4")) == 1


async def test_retries_back_off_and_keep_going(engine, settings):
    with engine.begin() as conn:
        publish(conn, mail_flow("dispatch-backoff"))
    ingest(engine, contact("dp5"))
    down = await unreachable_router(engine, settings)
    backoff = Backoff(initial=timedelta(seconds=1), ceiling=timedelta(seconds=4))
    signup = event("dp5", "form.submitted", {"form_id": "x"})
    await ingest_events(engine, down, [signup], backoff)
    waits = []
    for _ in range(4):
        [row] = pending(engine)
        with engine.begin() as conn:
            dispatches.failed(
                conn,
                [row.event_id],
                "still down",
                row.next_attempt_at,
                backoff.initial,
                backoff.ceiling,
            )
        [after] = pending(engine)
        waits.append((after.next_attempt_at - row.next_attempt_at).total_seconds())
    assert waits == [2, 4, 4, 4]
    assert pending(engine)[0].attempts == 5
