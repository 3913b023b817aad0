"""A journey hears its own contact changes in the step that made them, not from the
router (journey-patches-v11, workflows/journey_own_changes.py): no signal or workflow
task per change, and none refused as the journey completes. Goals and waits that listen
for the change still fire, and the contact's other journeys still hear it."""

import asyncio

from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType

from domain.journey import JourneyStatus
from projections.event_store import ingest, read_contact
from projections.schema import event_dispatches
from tests.journey_harness import contact, flow_from, journey_result, journey_worker
from tests.workflows.live_journeys import at_step, start

LISTENER = {
    "id": "own-change-listener",
    "steps": [
        {
            "id": "listen",
            "kind": "wait_for_event",
            "event": "contact.tag_added",
            "timeout": "1d",
            "on_event": "heard",
            "on_timeout": "deaf",
        },
        {"id": "heard", "kind": "exit", "reason": "heard a tag"},
        {"id": "deaf", "kind": "exit", "reason": "heard nothing"},
    ],
}
# Its goal is met by its own tag step: heard at once, attributed to that step.
TAGGER = {
    "id": "own-change-tagger",
    "steps": [
        {"id": "tag", "kind": "add_tag", "tag": "vip"},
        {"id": "think", "kind": "wait", "delay": "1d"},
        {"id": "mail", "kind": "send_email", "subject": "Still here", "body": "."},
        {"id": "vip", "kind": "goal", "goal": {"kind": "has_tag", "tag": "vip"}},
    ],
}
# Every change ends it: its last step's events once landed as it completed.
CHANGER = {
    "id": "own-change-changer",
    "steps": [
        {"id": "hello", "kind": "send_email", "subject": "Hello", "body": "."},
        {"id": "tags", "kind": "change_tags", "add": ["customer"], "remove": ["lead"]},
        {
            "id": "update",
            "kind": "update_contact",
            "changes": [{"field": "status", "action": "set", "value": "client"}],
        },
    ],
}


async def _routed(engine) -> None:
    """Until the dispatcher has routed every stored event (no dispatch record left)."""
    for _ in range(400):
        with engine.connect() as conn:
            if not conn.execute(select(func.count()).select_from(event_dispatches)).scalar_one():
                return
        await asyncio.sleep(0.05)
    raise AssertionError("events were left unrouted")


async def _history_kinds(env, workflow_id: str) -> list[int]:
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    return [e.event_type for e in history.events]


async def test_a_goal_met_by_its_own_change_converts_without_a_signal_and_others_hear_it(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    ingest(engine, contact("oc1", email="oc1@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        listener = await start(router, engine, flow_from(LISTENER), "oc1")
        await at_step(env, listener, "listen")
        tagger = await start(router, engine, flow_from(TAGGER), "oc1")
        heard = await journey_result(env, listener)
        converted = await journey_result(env, tagger)

    assert heard.exit_reason == "heard a tag"  # the tagger's change, routed to the listener
    assert converted.status == JourneyStatus.CONVERTED, converted
    assert converted.conversion.attributed_step == "tag", converted.conversion
    assert [v.step_id for v in converted.trail] == ["tag", "vip"]
    # Heard once, as the tag step returned (its conversion ended the journey).
    assert [mark.name for mark in converted.recent_events] == [
        "form.submitted",
        "contact.tag_added",
    ]
    kinds = await _history_kinds(env, tagger)
    # The one signal is the trigger's (signal-with-start); none of its own changes.
    assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 1
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds


async def test_changes_in_the_last_steps_are_heard_once_and_the_journey_completes_cleanly(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    ingest(engine, contact("oc2", email="oc2@example.com", tags=("lead",)))
    async with journey_worker(env.client, engine, settings) as router:
        journey = await start(router, engine, flow_from(CHANGER), "oc2")
        state = await journey_result(env, journey)
    assert state.status == JourneyStatus.COMPLETED, state
    with engine.connect() as conn:
        own = [e for e in read_contact(conn, "oc2") if e.source == "dripstone.journey"]
    changes = [e for e in own if e.type != "message.sent"]
    assert [e.type for e in changes] == [
        "contact.tag_added",
        "contact.tag_removed",
        "contact.updated",
    ], changes
    # Each heard once, by id, as the step that made it returned.
    heard = [mark.event_id for mark in state.recent_events]
    assert heard[1:] == [e.event_id for e in changes], (heard, changes)  # after the trigger
    assert state.events_seen == 1 + len(changes)  # the trigger, then its own changes
    kinds = await _history_kinds(env, journey)
    assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 1
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds
    assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


# A wait after the step that made the change: the change came before the wait began.
WAITS_FOR_ITS_OWN = {
    "id": "own-change-waiter",
    "steps": [
        {"id": "tag", "kind": "add_tag", "tag": "trial"},
        {
            "id": "listen",
            "kind": "wait_for_event",
            "event": "contact.tag_added",
            "timeout": "1d",
            "count_earlier_events": True,
            "on_event": "heard",
            "on_timeout": "deaf",
        },
        {"id": "heard", "kind": "exit", "reason": "heard its own tag"},
        {"id": "deaf", "kind": "exit", "reason": "heard nothing"},
    ],
}


async def test_a_wait_after_its_own_change_counts_it_as_an_earlier_event(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    ingest(engine, contact("oc3", email="oc3@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        early = await start(router, engine, flow_from(WAITS_FOR_ITS_OWN), "oc3")
        counted = await journey_result(env, early)
        strict = flow_from(
            {
                **WAITS_FOR_ITS_OWN,
                "id": "own-change-strict",
                "steps": [
                    WAITS_FOR_ITS_OWN["steps"][0],
                    {**WAITS_FOR_ITS_OWN["steps"][1], "count_earlier_events": False},
                    *WAITS_FOR_ITS_OWN["steps"][2:],
                ],
            }
        )
        late = await start(router, engine, strict, "oc3")
        timed_out = await journey_result(env, late)
    assert counted.exit_reason == "heard its own tag", counted.trail
    # In order: the tag was made before the wait began (docs/flow-language.md).
    assert timed_out.exit_reason == "heard nothing", timed_out.trail


# Its conversion goes on (exit_on_reach false) to a wait for that very conversion.
CARRIES_ON = {
    "id": "own-change-carries-on",
    "steps": [
        {"id": "tag", "kind": "add_tag", "tag": "member"},
        {
            "id": "joined",
            "kind": "goal",
            "goal": {"kind": "has_tag", "tag": "member"},
            "exit_on_reach": False,
        },
        {
            "id": "listen",
            "kind": "wait_for_event",
            "event": "journey.converted",
            "timeout": "1d",
            "count_earlier_events": True,
            "on_event": "heard",
            "on_timeout": "deaf",
        },
        {"id": "heard", "kind": "exit", "reason": "heard its conversion"},
        {"id": "deaf", "kind": "exit", "reason": "heard nothing"},
    ],
}
# Triggered by the very change its own journey makes: that journey is not signalled.
SELF_TRIGGERED = {
    "id": "own-change-self-triggered",
    "trigger": {"event": "contact.tag_added", "where": [{"path": "tag", "value": "again"}]},
    "steps": [
        {"id": "tag", "kind": "add_tag", "tag": "again"},
        {"id": "pause", "kind": "wait", "delay": "1h"},
    ],
}


async def test_a_journey_that_carries_on_hears_its_own_conversion(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    ingest(engine, contact("oc4", email="oc4@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        journey = await start(router, engine, flow_from(CARRIES_ON), "oc4")
        state = await journey_result(env, journey)
    assert state.conversion is not None and state.conversion.attributed_step == "tag"
    assert state.exit_reason == "heard its conversion", state.trail
    assert (await _history_kinds(env, journey)).count(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ) == 1


async def test_an_ending_conversion_leaves_nothing_unheard(time_skipping_env, engine, settings):
    env = time_skipping_env
    ingest(engine, contact("oc5", email="oc5@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        journey = await start(router, engine, flow_from(TAGGER), "oc5")
        state = await journey_result(env, journey)
    assert state.status == JourneyStatus.CONVERTED
    assert state.inbox == [] and state.events_seen == 2  # the trigger and its own tag


async def test_a_flow_its_own_change_triggers_does_not_signal_the_journey_that_made_it(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    ingest(engine, contact("oc6", email="oc6@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        journey = await start(router, engine, flow_from(SELF_TRIGGERED), "oc6")
        await at_step(env, journey, "pause")
        await _routed(engine)  # its tag went through the router before the journey ends
        state = await journey_result(env, journey)
    assert [v.step_id for v in state.trail] == ["tag", "pause"]
    kinds = await _history_kinds(env, journey)
    assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 1
