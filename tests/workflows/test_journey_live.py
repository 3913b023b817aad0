"""Live journeys on the time-skipping server: wait-for-event, goals, pause, resume and
stop, with events and signals sent while the journey runs."""

from datetime import timedelta

from domain.journey import JourneyStatus
from projections.event_store import ingest
from projections.reports import conversions_by_step
from tests.journey_harness import (
    contact,
    flow_from,
    journey_result,
    journey_worker,
    outbox,
)
from tests.workflows.live_journeys import at_step, send, start, state_of

REPLY_WAIT = {
    "id": "reply",
    "kind": "wait_for_event",
    "event": "sms.received",
    "timeout": "1d",
    "on_event": "thanks",
    "on_timeout": "nudge",
}
AFTER_REPLY = [
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


async def test_an_event_during_the_wait_takes_the_event_branch_at_once(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    flow = flow_from({"id": "reply-wait", "steps": [REPLY_WAIT, *AFTER_REPLY]})
    ingest(engine, contact("wr1", email="wr1@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        journey = await start(router, engine, flow, "wr1")
        await at_step(env, journey, "reply")
        before = await env.get_current_time()
        await send(router, engine, "wr1", "sms.received", {"body": "yes"})
        state = await journey_result(env, journey)
    assert [m.subject for m in outbox(engine, "wr1")] == ["Thanks for replying"]
    assert state.trail[0].outcome == "sms.received received"
    # Woken by the signal, not by the timer: the wait ended well before its day was up
    # (workflow time, as recorded on the step).
    assert state.trail[0].at - before < timedelta(hours=1)


async def test_no_event_takes_the_timeout_branch_after_a_day(time_skipping_env, engine, settings):
    env = time_skipping_env
    flow = flow_from({"id": "reply-timeout", "steps": [REPLY_WAIT, *AFTER_REPLY]})
    ingest(engine, contact("wr2", email="wr2@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        before = await env.get_current_time()
        journey = await start(router, engine, flow, "wr2")
        state = await journey_result(env, journey)
    assert [m.subject for m in outbox(engine, "wr2")] == ["Still there?"]
    assert state.trail[0].outcome == "no sms.received in time"
    assert await env.get_current_time() - before >= timedelta(days=1)


async def test_an_earlier_event_counts_only_when_the_step_says_so(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    steps = [{"id": "first", "kind": "wait", "delay": "1h"}, REPLY_WAIT, *AFTER_REPLY]
    strict = flow_from({"id": "earlier-no", "steps": steps})
    lenient = flow_from(
        {
            "id": "earlier-yes",
            "steps": [steps[0], {**REPLY_WAIT, "count_earlier_events": True}, *AFTER_REPLY],
        }
    )
    for contact_id in ("we1", "we2"):
        ingest(engine, contact(contact_id, email=f"{contact_id}@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        journeys = {}
        for contact_id, flow in (("we1", strict), ("we2", lenient)):
            journeys[contact_id] = await start(router, engine, flow, contact_id)
            await at_step(env, journeys[contact_id], "first")
            # The reply comes while the journey is still in the step before the wait.
            await send(router, engine, contact_id, "sms.received", {"body": "hi"})
        for journey in journeys.values():
            await journey_result(env, journey)
    assert [m.subject for m in outbox(engine, "we1")] == ["Still there?"]
    assert [m.subject for m in outbox(engine, "we2")] == ["Thanks for replying"]


async def test_a_matching_condition_filters_which_events_count(time_skipping_env, engine, settings):
    env = time_skipping_env
    wait = {
        **REPLY_WAIT,
        "event": "contact.tag_added",
        "matching": {"kind": "has_tag", "tag": "interested"},
    }
    flow = flow_from({"id": "matching-wait", "steps": [wait, *AFTER_REPLY]})
    ingest(engine, contact("wm1", email="wm1@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        journey = await start(router, engine, flow, "wm1")
        await at_step(env, journey, "reply")
        await send(router, engine, "wm1", "contact.tag_added", {"tag": "newsletter"})
        assert (await state_of(env, journey)).current_step == "reply"
        await send(router, engine, "wm1", "contact.tag_added", {"tag": "interested"})
        await journey_result(env, journey)
    assert [m.subject for m in outbox(engine, "wm1")] == ["Thanks for replying"]


GOAL_FLOW = {
    "id": "convert",
    "steps": [
        {"id": "pitch", "kind": "send_email", "subject": "Buy it", "body": "."},
        {"id": "think", "kind": "wait", "delay": "3d"},
        {"id": "again", "kind": "send_email", "subject": "Last chance", "body": "."},
        {"id": "bought", "kind": "goal", "goal": {"kind": "purchased_product", "product": "pro"}},
    ],
}


async def test_a_goal_met_during_a_wait_converts_and_is_attributed_to_that_step(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    flow = flow_from(GOAL_FLOW)
    ingest(engine, contact("g1", email="g1@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        journey = await start(router, engine, flow, "g1")
        await at_step(env, journey, "think")
        await send(router, engine, "g1", "product.purchased", {"product": "basic"})
        assert (await state_of(env, journey)).status == JourneyStatus.WAITING
        await send(router, engine, "g1", "product.purchased", {"product": "pro"})
        state = await journey_result(env, journey)
    assert state.status == JourneyStatus.CONVERTED
    assert state.conversion.goal_step == "bought"
    assert state.conversion.attributed_step == "think"
    assert [m.subject for m in outbox(engine, "g1")] == ["Buy it"]
    conversions = [e for e in _events(engine, "g1") if e.type == "journey.converted"]
    assert len(conversions) == 1
    assert conversions[0].payload["step_id"] == "think"
    with engine.connect() as conn:
        assert conversions_by_step(conn, "convert") == {"think": 1}


async def test_a_goal_reached_in_order_converts_only_when_met(time_skipping_env, engine, settings):
    env = time_skipping_env
    flow = flow_from(GOAL_FLOW | {"id": "convert-in-order"})
    ingest(engine, contact("g2", email="g2@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        state = await journey_result(env, await start(router, engine, flow, "g2"))
    assert state.status == JourneyStatus.COMPLETED
    assert state.conversion is None
    assert [m.subject for m in outbox(engine, "g2")] == ["Buy it", "Last chance"]


def _events(engine, contact_id):
    from projections.event_store import read_contact

    with engine.connect() as conn:
        return read_contact(conn, contact_id)


async def test_a_pause_that_lands_while_an_event_is_handled_still_shows(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    flow = flow_from(GOAL_FLOW | {"id": "convert-paused"})
    ingest(engine, contact("g3", email="g3@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        journey = await start(router, engine, flow, "g3")
        await at_step(env, journey, "think")
        handle = env.client.get_workflow_handle(journey)
        # The purchase sets off a goal check (an activity); the pause arrives meanwhile.
        await send(router, engine, "g3", "product.purchased", {"product": "basic"})
        await handle.signal("pause")
        await at_step(env, journey, "think", JourneyStatus.PAUSED)
        await handle.signal("resume")
        await at_step(env, journey, "think", JourneyStatus.WAITING)
        await handle.signal("stop", "test over")
        state = await journey_result(env, journey)
    assert state.exit_reason == "stopped: test over"
