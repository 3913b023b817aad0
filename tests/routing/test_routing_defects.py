"""The seven routing defects found by trying the product as a new user, one test each,
on the production path (ingest -> dispatch record -> deliver, plus the worker's
dispatcher) and the time-skipping server, on both database lanes."""

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select
from temporalio.client import Client

from codec.converter import data_converter
from domain.events import DEFAULT_MAX_PAYLOAD_BYTES, EventRejected, parse_event
from domain.journey import JourneyStatus
from projections import dispatches, engine_flags
from projections import journey_index as index
from projections.event_store import ingest, ingest_routable
from projections.flow_catalogue import publish
from projections.flow_lifecycle import pause as pause_flow
from projections.flow_lifecycle import resume as resume_flow
from projections.reachable import routable as routable_for
from projections.schema import event_dispatches
from routing.controls import JourneyControls
from routing.dispatch import deliver
from routing.ingestion import ingest_events
from routing.router import Router
from settings import Settings
from tests.journey_harness import (
    contact,
    event,
    flow_from,
    journey_result,
    journey_worker,
    outbox,
    send,
)
from tests.workflows.live_journeys import at_step

REPLY_FLOW = {
    "steps": [
        {
            "id": "reply",
            "kind": "wait_for_event",
            "event": "sms.received",
            "timeout": "1d",
            "on_event": "thanks",
            "on_timeout": "nudge",
        },
        {
            "id": "thanks",
            "kind": "send_email",
            "subject": "Thanks for replying",
            "body": ".",
            "next": "done",
        },
        {"id": "nudge", "kind": "send_email", "subject": "Still there?", "body": "."},
        {"id": "done", "kind": "exit", "reason": "finished"},
    ]
}


def publish_flow(engine, flow_id: str, **document):
    flow = flow_from({"id": flow_id, **REPLY_FLOW, **document})
    with engine.begin() as conn:
        return publish(conn, flow)


async def enrolled_id(router: Router, engine, contact_id: str) -> str:
    routed = await send(router, engine, event(contact_id, "form.submitted", {"form_id": "x"}))
    [started] = [r for r in routed if r.outcome == "enrolled"]
    return started.workflow_id


async def test_1_a_re_entry_always_journey_hears_the_reply_and_takes_controls(
    time_skipping_env, engine, settings
):
    publish_flow(engine, "always-reply", re_entry="always")
    ingest(engine, contact("d1", email="d1@example.com"))
    env = time_skipping_env
    async with journey_worker(env.client, engine, settings) as router:
        workflow_id = await enrolled_id(router, engine, "d1")
        assert workflow_id.startswith("journey/always-reply/d1/")  # the enrollment suffix
        await at_step(env, workflow_id, "reply")
        controls = JourneyControls(env.client, engine)
        assert await controls.signal_contact("always-reply", "d1", "pause") == 1
        assert await controls.signal_contact("always-reply", "d1", "resume") == 1
        routed = await send(router, engine, event("d1", "sms.received", {"body": "yes"}))
        assert [(r.workflow_id, r.outcome) for r in routed] == [(workflow_id, "signalled")]
        state = await journey_result(env, workflow_id)
    assert "sms.received received" in [v.outcome for v in state.trail]
    assert [m.subject for m in outbox(engine, "d1")] == ["Thanks for replying"]


async def test_2_a_reply_during_a_flow_pause_is_kept_for_after_resume(
    time_skipping_env, engine, settings
):
    publish_flow(engine, "paused-reply")
    ingest(engine, contact("d2", email="d2@example.com"))
    env = time_skipping_env
    async with journey_worker(env.client, engine, settings) as router:
        workflow_id = await enrolled_id(router, engine, "d2")
        await at_step(env, workflow_id, "reply")
        with engine.begin() as conn:
            pause_flow(conn, "paused-reply")
        controls = JourneyControls(env.client, engine)
        assert await controls.signal_contact("paused-reply", "d2", "pause") == 1
        await at_step(env, workflow_id, "reply", JourneyStatus.PAUSED)
        # The flow is paused (not "published"): its journeys still hear their contacts.
        routed = await send(router, engine, event("d2", "sms.received", {"body": "yes"}))
        assert [r.outcome for r in routed] == ["signalled"]
        with engine.begin() as conn:
            resume_flow(conn, "paused-reply")
        await controls.signal_contact("paused-reply", "d2", "resume")
        state = await journey_result(env, workflow_id)
    assert "sms.received received" in [v.outcome for v in state.trail]


async def test_3_events_the_engine_writes_start_flows(time_skipping_env, engine, settings):
    sender = flow_from(
        {
            "id": "sender",
            "steps": [{"id": "mail", "kind": "send_email", "subject": "Hello", "body": "."}],
        }
    )
    follow_up = flow_from(
        {
            "id": "after-send",
            "trigger": {"event": "message.sent", "where": [{"path": "flow_id", "value": "sender"}]},
            "steps": [{"id": "tag", "kind": "add_tag", "tag": "mailed"}],
        }
    )
    with engine.begin() as conn:
        publish(conn, sender)
        publish(conn, follow_up)
    ingest(engine, contact("d3", email="d3@example.com"))
    env = time_skipping_env
    async with journey_worker(env.client, engine, settings) as router:
        await enrolled_id(router, engine, "d3")
        # message.sent was stored with a dispatch record; the worker's dispatcher routed it.
        for _ in range(200):
            with engine.connect() as conn:
                if index.for_contact(conn, "d3", "after-send"):
                    break
            await asyncio.sleep(0.05)
        state = await journey_result(env, "journey/after-send/d3")
    assert state.trail[-1].outcome.startswith("tag") or state.status == JourneyStatus.COMPLETED


class CountingClient:
    """The real client, counting the calls routing makes through it."""

    def __init__(self, client: Client):
        self._client, self.calls = client, 0

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if name in ("start_workflow", "get_workflow_handle"):

            def counted(*args, **kwargs):
                self.calls += 1
                return attribute(*args, **kwargs)

            return counted
        return attribute


async def test_4_an_event_costs_no_temporal_call_per_flow(time_skipping_env, engine, settings):
    with engine.begin() as conn:
        for n in range(30):
            publish(
                conn,
                flow_from({"id": f"other-{n}", "trigger": {"event": "page.visited"}, **REPLY_FLOW}),
            )
    publish_flow(engine, "one-journey")
    ingest(engine, contact("d4", email="d4@example.com") + contact("d4-none"))
    env = time_skipping_env
    async with journey_worker(env.client, engine, settings) as router:
        workflow_id = await enrolled_id(router, engine, "d4")
        counting = CountingClient(env.client)
        counted = Router(counting, engine, settings.task_queue)
        # A contact in no journey, an event no trigger takes: not one Temporal call.
        _, routed = await ingest_events(
            engine, counted, [event("d4-none", "sms.received", {"body": "hi"})]
        )
        assert (routed, counting.calls) == ([], 0)
        # A contact in one journey among 31 live flows: one signal, to that journey.
        _, routed = await ingest_events(
            engine, counted, [event("d4", "sms.received", {"body": "hi"})]
        )
        assert [(r.workflow_id, r.outcome) for r in routed] == [(workflow_id, "signalled")]
        assert counting.calls == 1
        await journey_result(env, workflow_id)


async def test_5_an_oversized_event_is_refused_at_the_edge_and_one_stored_is_set_aside(
    time_skipping_env, engine, settings
):
    big = {"name": "blob", "properties": {"data": "x" * 2_000_000}}
    try:
        parse_event(
            {
                "event_id": "big",
                "type": "custom",
                "contact_id": "d5",
                "payload": big,
                "occurred_at": datetime.now(UTC),
            },
            now=datetime.now(UTC),
        )
        raise AssertionError("a 2 MB event was accepted")
    except EventRejected as exc:
        assert [field for field, _ in exc.problems] == ["payload"]
        assert str(DEFAULT_MAX_PAYLOAD_BYTES) in exc.problems[0][1]
    publish_flow(engine, "big-event", trigger={"event": "custom"})
    publish_flow(engine, "after-big")
    ingest(engine, contact("d5", email="d5@example.com"))
    # Stored before the edge refused such events. Journeys are sent only ids and a
    # custom event's name, so a big payload is delivered; a 2 MB name never can be.
    roomy = event("d5", "custom", {"name": "big-payload", **{"properties": big["properties"]}})
    stored = event("d5", "custom", {"name": "n" * 2_000_000})
    ingest(engine, [roomy, stored], dispatch=True)
    env = time_skipping_env
    async with journey_worker(env.client, engine, settings) as router:
        [routed] = await deliver(engine, router, [roomy], redelivery=True)
        assert (routed.flow_id, routed.outcome) == ("big-event", "enrolled")
        assert await deliver(engine, router, [stored], redelivery=True) == []
        with engine.connect() as conn:
            [dead] = dispatches.dead_letters(conn)
            assert dispatches.pending(conn) == (0, 0, 1)
        assert (dead.event_id, "bytes" in dead.reason) == (stored.event_id, True)
        # It no longer holds the contact back: a trigger sent afterwards starts a journey.
        workflow_id = await enrolled_id(router, engine, "d5")
        assert workflow_id == "journey/after-big/d5"
        # Both journeys wait for a reply; one reply reaches both.
        routed = await send(router, engine, event("d5", "sms.received", {"body": "yes"}))
        assert sorted(r.workflow_id for r in routed) == [
            "journey/after-big/d5",
            "journey/big-event/d5",
        ]
        await journey_result(env, workflow_id)
        await journey_result(env, "journey/big-event/d5")


async def test_6_while_temporal_is_down_events_are_accepted_without_waiting(engine, settings):
    down = await Client.connect("127.0.0.1:1", lazy=True, data_converter=data_converter(Settings()))
    counting = CountingClient(down)
    router = Router(counting, engine, settings.task_queue)
    first = event("d6", "form.submitted", {"form_id": "x"})
    publish_flow(engine, "down")
    _, routed = await ingest_events(engine, router, [first])
    assert routed == [] and router.breaker.is_open()
    calls = counting.calls
    later = [event("d6", "sms.received", {"body": "hi"}) for _ in range(40)]
    for item in later:
        await ingest_events(engine, router, [item])
    # The breaker is open: no call was tried, and every event waits for the dispatcher.
    assert counting.calls == calls
    with engine.connect() as conn:
        kept = conn.execute(select(event_dispatches.c.event_id)).scalars().all()
    assert set(kept) == {first.event_id, *(e.event_id for e in later)}


async def test_7_a_second_trigger_for_a_running_never_journey_is_not_reentered(
    time_skipping_env, engine, settings
):
    publish_flow(engine, "never-again")
    ingest(engine, contact("d7", email="d7@example.com"))
    env = time_skipping_env
    async with journey_worker(env.client, engine, settings) as router:
        workflow_id = await enrolled_id(router, engine, "d7")
        await at_step(env, workflow_id, "reply")
        again = await send(router, engine, event("d7", "form.submitted", {"form_id": "x"}))
        assert [(r.workflow_id, r.outcome) for r in again] == [(workflow_id, "not_reentered")]
        await send(router, engine, event("d7", "sms.received", {"body": "hi"}))
        await journey_result(env, workflow_id)


def test_until_old_journeys_are_indexed_every_event_keeps_its_dispatch_record(engine):
    """After the upgrade to the index (0007), journeys from before it are not in it yet:
    no event is filtered out until `db reindex-journeys` (or a worker start) lists them.
    Afterwards, an event that can reach no journey gets no record (and costs nothing)."""
    routable = routable_for(trigger_types=set())
    with engine.begin() as conn:
        engine_flags.set_flag(conn, engine_flags.JOURNEY_INDEX_INCOMPLETE)
    visit = event("d8", "page.visited", {"page": "pricing"})
    assert ingest_routable(engine, [visit], routable) == ([visit], [visit])
    with engine.begin() as conn:
        engine_flags.clear(conn, engine_flags.JOURNEY_INDEX_INCOMPLETE)
    quiet = event("d8-other", "page.visited", {"page": "docs"})  # nothing pending for it
    assert ingest_routable(engine, [quiet], routable) == ([quiet], [])
