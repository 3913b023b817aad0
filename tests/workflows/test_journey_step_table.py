"""The step table (domain/step_table.py) in real journeys on the time-skipping server:
one failure rule for every contact change, trail outcome codes, and local activities
for the short steps (no ActivityTaskScheduled in the journey's history)."""

from sqlalchemy import select
from temporalio.api.enums.v1 import EventType

from domain.journey import JOURNEY_WORKFLOW, JourneyInput, JourneyStatus
from domain.step_table import STEP_TABLE
from patches.replay import HISTORIES, failing_without
from projections.contacts import load_snapshot
from projections.event_store import ingest
from projections.schema import outbox_messages
from tests.journey_harness import (
    contact,
    enroll_and_finish,
    flow_from,
    journey_result,
    journey_worker,
)
from worker import activities_for

TOO_LONG_TAG = "t" * 101  # the tag event's payload refuses it: InvalidChange


def tags(engine, contact_id: str) -> set[str]:
    with engine.connect() as conn:
        return set(load_snapshot(conn, contact_id).tags)


async def test_an_invalid_tag_change_is_recorded_and_the_journey_goes_on(
    time_skipping_env, engine, settings
):
    flow = flow_from(
        {
            "id": "table-bad-tag",
            "steps": [
                {"id": "bad", "kind": "add_tag", "tag": TOO_LONG_TAG},
                {"id": "bad-remove", "kind": "remove_tag", "tag": TOO_LONG_TAG},
                {"id": "mixed", "kind": "change_tags", "add": [TOO_LONG_TAG, "never"]},
                {"id": "good", "kind": "add_tag", "tag": "carried-on"},
            ],
        }
    )
    ingest(engine, contact("c1"))
    client = time_skipping_env.client
    async with journey_worker(client, engine, settings):
        # Publishing refuses such a tag now; a version published before could hold one.
        await client.start_workflow(
            JOURNEY_WORKFLOW,
            JourneyInput(flow=flow, contact_id="c1", enrollment_id="e1"),
            id="journey/table-bad-tag/c1",
            task_queue=settings.task_queue,
        )
        state = await journey_result(time_skipping_env, "journey/table-bad-tag/c1")
    assert state.status == JourneyStatus.COMPLETED
    assert [v.code for v in state.trail] == ["failed:InvalidChange"] * 3 + ["done"]
    assert state.trail[0].outcome.startswith("add_tag failed: invalid contact change")
    assert tags(engine, "c1") == {"carried-on"}  # the tag after the invalid one: not added


async def test_every_visit_in_the_trail_has_an_outcome_code(time_skipping_env, engine, settings):
    flow = flow_from(
        {
            "id": "table-codes",
            "steps": [
                {"id": "mail", "kind": "send_email", "subject": "Hi", "body": "."},
                {"id": "text", "kind": "send_sms", "text": "Hi"},
                {
                    "id": "route",
                    "kind": "branch",
                    "condition": {"kind": "has_tag", "tag": "gold"},
                    "then": "vip",
                    "otherwise": "pause",
                },
                {"id": "vip", "kind": "add_tag", "tag": "seen-vip"},
                {"id": "pause", "kind": "wait", "delay": "1h"},
                {
                    "id": "only-vips",
                    "kind": "add_tag",
                    "tag": "x",
                    "run_if": {"kind": "has_tag", "tag": "gold"},
                    "on_false": "skip",
                },
                {"id": "end", "kind": "exit", "reason": "done"},
            ],
        }
    )
    ingest(engine, contact("c1", email="c1@example.com"))  # no phone: the SMS is skipped
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        state = await enroll_and_finish(time_skipping_env, router, engine, flow, "c1")
    assert state.status == JourneyStatus.EXITED
    assert [(v.step_id, v.code) for v in state.trail] == [
        ("mail", "sent"),
        ("text", "skipped:no_address"),
        ("route", "branched"),
        ("pause", "waited"),
        ("only-vips", "skipped:condition_not_met"),
        ("end", "exited"),
    ]


def _scheduled_and_local(history) -> tuple[list[str], int]:
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    local = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    ]
    return scheduled, len(local)


LOCAL_FLOW = {
    "id": "table-local",
    "steps": [
        {"id": "tag", "kind": "add_tag", "tag": "lead"},
        {
            "id": "visits",
            "kind": "update_contact",
            "changes": [{"field": "visits", "action": "set", "value": 1}],
        },
        {"id": "route", "kind": "branch", "condition": {"kind": "has_tag", "tag": "lead"}},
        {"id": "mail", "kind": "send_email", "subject": "Hi", "body": "."},
        {"id": "text", "kind": "send_sms", "text": "Hi"},
    ],
}


async def test_short_steps_and_outbox_sends_run_as_local_activities(
    time_skipping_env, engine, settings
):
    assert settings.local_sends == ["email", "sms"]  # the embedded outbox, unpaced
    ingest(engine, contact("c1", email="c1@example.com", phone="+14155550101"))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        state = await enroll_and_finish(
            time_skipping_env, router, engine, flow_from(LOCAL_FLOW), "c1"
        )
        handle = time_skipping_env.client.get_workflow_handle("journey/table-local/c1")
        history = await handle.fetch_history()
    assert [v.code for v in state.trail] == ["done", "done", "branched", "sent", "sent"]
    scheduled, local = _scheduled_and_local(history)
    assert scheduled == []  # the outbox's key makes a retry exact: local too
    assert local >= 5  # tag, contact change, condition, both sends (plus the reports)
    with engine.connect() as conn:
        sent = conn.execute(select(outbox_messages.c.channel)).scalars().all()
    assert sorted(sent) == ["email", "sms"]


async def test_paced_or_provider_sends_stay_regular_activities(time_skipping_env, engine, settings):
    # A paced outbox may wait long for its slot; SendGrid/Twilio are someone else's.
    paced = settings.model_copy(update={"provider_rates": {"outbox-email": 1000.0}})
    assert paced.local_sends == ["sms"]
    ingest(engine, contact("c1", email="c1@example.com", phone="+14155550101"))
    async with journey_worker(time_skipping_env.client, engine, paced) as router:
        state = await enroll_and_finish(
            time_skipping_env, router, engine, flow_from({**LOCAL_FLOW, "id": "table-paced"}), "c1"
        )
        history = await time_skipping_env.client.get_workflow_handle(
            "journey/table-paced/c1"
        ).fetch_history()
    assert [v.code for v in state.trail][-2:] == ["sent", "sent"]
    assert _scheduled_and_local(history)[0] == ["send_email"]


async def test_a_journey_started_without_local_sends_sends_as_regular_activities(
    time_skipping_env, engine, settings
):
    # Journeys started before JourneyInput.local_sends (or by a router not given it).
    ingest(engine, contact("c1", email="c1@example.com", phone="+14155550101"))
    client = time_skipping_env.client
    async with journey_worker(client, engine, settings):
        await client.start_workflow(
            JOURNEY_WORKFLOW,
            JourneyInput(
                flow=flow_from({**LOCAL_FLOW, "id": "table-unset"}),
                contact_id="c1",
                enrollment_id="e1",
            ),
            id="journey/table-unset/c1",
            task_queue=settings.task_queue,
        )
        state = await journey_result(time_skipping_env, "journey/table-unset/c1")
        history = await client.get_workflow_handle("journey/table-unset/c1").fetch_history()
    assert [v.code for v in state.trail][-2:] == ["sent", "sent"]
    assert _scheduled_and_local(history)[0] == ["send_email", "send_sms"]


def test_every_activity_in_the_table_is_one_the_worker_registers(
    time_skipping_env, engine, settings
):
    registered = {
        fn.__temporal_activity_definition.name
        for fn in activities_for(settings, engine, time_skipping_env.client)
    }
    named = {kind.call.activity for kind in STEP_TABLE.values() if kind.call is not None}
    assert named - registered == set()


async def test_journeys_recorded_before_local_steps_replay_only_with_the_patch():
    # Their contact changes and local-time planning were regular activities.
    before = [HISTORIES / "actions_v5.json", HISTORIES / "timing_v5.json"]
    assert await failing_without("journey-local-steps", before) == [p.name for p in before]
    assert await failing_without("journey-local-steps", [HISTORIES / "actions_v6.json"]) == []
