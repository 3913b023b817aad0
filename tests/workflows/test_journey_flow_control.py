""" "When to run", step conditions with on-false behaviour, multi-way branches, random
splits and tag sets, in real journeys on the time-skipping server."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowFailureError

from domain.journey import JourneyStatus
from projections.contacts import load_snapshot
from projections.event_store import ingest
from tests.journey_harness import contact, enroll_and_finish, flow_from, journey_worker, outbox

GATED = {"kind": "has_tag", "tag": "vip"}


async def test_when_delay_and_at_hold_the_step(time_skipping_env, engine, settings):
    start = await time_skipping_env.get_current_time()
    flow = flow_from(
        {
            "id": "when",
            "steps": [
                {
                    "id": "later",
                    "kind": "send_email",
                    "subject": "A",
                    "body": ".",
                    "when": {"delay": "5d"},
                },
                {
                    "id": "dated",
                    "kind": "send_email",
                    "subject": "B",
                    "body": ".",
                    "when": {"at": (start + timedelta(days=20)).isoformat()},
                },
            ],
        }
    )
    ingest(engine, contact("c1", email="c1@example.com"))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        state = await enroll_and_finish(time_skipping_env, router, engine, flow, "c1")
    assert state.status == JourneyStatus.COMPLETED
    assert await time_skipping_env.get_current_time() - start >= timedelta(days=20)
    assert [m.subject for m in outbox(engine, "c1")] == ["A", "B"]


@pytest.mark.parametrize(
    ("on_false", "expected_subjects", "exit_reason"),
    [
        ("skip", ["after"], "done"),
        ("exit", [], "condition of step vip-only not met"),
        ("branch", ["consolation"], "done"),
    ],
)
async def test_run_if_false_skips_exits_or_branches(
    time_skipping_env, engine, settings, on_false, expected_subjects, exit_reason
):
    gate = {"run_if": GATED, "on_false": on_false}
    tail = [{"id": "end", "kind": "exit", "reason": "done"}]
    if on_false == "branch":
        gate["false_next"] = "consolation"
        tail.insert(
            0, {"id": "consolation", "kind": "send_email", "subject": "consolation", "body": "."}
        )
    flow = flow_from(
        {
            "id": f"gate-{on_false}",
            "steps": [
                {"id": "vip-only", "kind": "send_email", "subject": "vip", "body": ".", **gate},
                {
                    "id": "after",
                    "kind": "send_email",
                    "subject": "after",
                    "body": ".",
                    "next": "end",
                },
                *tail,
            ],
        }
    )
    ingest(engine, contact("plain", email="p@example.com"))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        state = await enroll_and_finish(time_skipping_env, router, engine, flow, "plain")
    assert [m.subject for m in outbox(engine, "plain")] == expected_subjects
    assert (state.status, state.exit_reason) == (JourneyStatus.EXITED, exit_reason)


async def test_multi_branch_takes_the_first_matching_path(time_skipping_env, engine, settings):
    flow = flow_from(
        {
            "id": "multi",
            "steps": [
                {
                    "id": "route",
                    "kind": "multi_branch",
                    "paths": [
                        {
                            "name": "gold",
                            "condition": {
                                "kind": "attribute",
                                "field": "points",
                                "op": "gte",
                                "value": 1000,
                            },
                            "goto": "gold",
                        },
                        {
                            "name": "silver",
                            "condition": {
                                "kind": "attribute",
                                "field": "points",
                                "op": "gte",
                                "value": 100,
                            },
                            "goto": "silver",
                        },
                    ],
                    "otherwise": "bronze",
                },
                {"id": "gold", "kind": "add_tag", "tag": "gold", "next": "end"},
                {"id": "silver", "kind": "add_tag", "tag": "silver", "next": "end"},
                {"id": "bronze", "kind": "add_tag", "tag": "bronze"},
                {"id": "end", "kind": "exit"},
            ],
        }
    )
    for contact_id, points in (("g", 5000), ("s", 500), ("b", 5)):
        ingest(engine, contact(contact_id, points=points))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        for contact_id in ("g", "s", "b"):
            await enroll_and_finish(time_skipping_env, router, engine, flow, contact_id)
    with engine.connect() as conn:
        tags = {c: load_snapshot(conn, c).tags for c in ("g", "s", "b")}
    assert tags == {"g": {"gold"}, "s": {"silver"}, "b": {"bronze"}}


async def test_random_split_sends_contacts_down_every_path(time_skipping_env, engine, settings):
    flow = flow_from(
        {
            "id": "ab",
            "steps": [
                {
                    "id": "split",
                    "kind": "split",
                    "paths": [
                        {"name": "A", "percent": 50, "goto": "a"},
                        {"name": "B", "percent": 50, "goto": "b"},
                    ],
                },
                {"id": "a", "kind": "add_tag", "tag": "variant-a", "next": "end"},
                {"id": "b", "kind": "add_tag", "tag": "variant-b"},
                {"id": "end", "kind": "exit"},
            ],
        }
    )
    contacts = [f"ab-{i}" for i in range(16)]
    for contact_id in contacts:
        ingest(engine, contact(contact_id))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        for contact_id in contacts:
            await enroll_and_finish(time_skipping_env, router, engine, flow, contact_id)
    with engine.connect() as conn:
        variants = [next(iter(load_snapshot(conn, c).tags)) for c in contacts]
    # 16 fair draws all landing on one side would happen 2 times in 65,536.
    assert set(variants) == {"variant-a", "variant-b"}


async def test_change_tags_adds_and_removes_in_one_step(time_skipping_env, engine, settings):
    flow = flow_from(
        {
            "id": "retag",
            "steps": [
                {
                    "id": "convert",
                    "kind": "change_tags",
                    "add": ["customer", "newsletter"],
                    "remove": ["lead"],
                }
            ],
        }
    )
    ingest(engine, contact("c1", tags=("lead", "newsletter")))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        await enroll_and_finish(time_skipping_env, router, engine, flow, "c1")
    with engine.connect() as conn:
        assert load_snapshot(conn, "c1").tags == {"customer", "newsletter"}


async def test_audience_terms_pick_who_gets_a_mailing_chain_step(
    time_skipping_env, engine, settings
):
    flow = flow_from(
        {
            "id": "chain",
            "steps": [
                {"id": "first", "kind": "send_email", "subject": "Step 1", "body": "."},
                {
                    "id": "second",
                    "kind": "send_email",
                    "subject": "Step 2 (vips)",
                    "body": ".",
                    "audience": {"who": "matching", "terms": GATED},
                },
                {
                    "id": "third",
                    "kind": "send_email",
                    "subject": "Step 3",
                    "body": ".",
                    "audience": {"who": "everyone"},
                },
            ],
        }
    )
    ingest(engine, contact("vip", email="v@example.com", tags=("vip",)))
    ingest(engine, contact("other", email="o@example.com"))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        for contact_id in ("vip", "other"):
            await enroll_and_finish(time_skipping_env, router, engine, flow, contact_id)
    assert [m.subject for m in outbox(engine, "vip")] == ["Step 1", "Step 2 (vips)", "Step 3"]
    assert [m.subject for m in outbox(engine, "other")] == ["Step 1", "Step 3"]


async def test_clock_only_conditions_are_decided_in_the_workflow(
    time_skipping_env, engine, settings
):
    start = await time_skipping_env.get_current_time()
    tomorrow = (start + timedelta(days=1)).date().isoformat()
    flow = flow_from(
        {
            "id": "clock",
            "steps": [
                {
                    "id": "early",
                    "kind": "branch",
                    "condition": {
                        "kind": "current_date",
                        "test": {"op": "before", "date": tomorrow},
                    },
                    "then": "now",
                    "otherwise": "later",
                },
                {"id": "now", "kind": "add_tag", "tag": "today", "next": "pause"},
                {"id": "later", "kind": "add_tag", "tag": "too-late"},
                {"id": "pause", "kind": "wait", "delay": "3d"},
                {
                    "id": "again",
                    "kind": "branch",
                    "condition": {
                        "kind": "current_date",
                        "test": {"op": "before", "date": tomorrow},
                    },
                    "then": "end",
                    "otherwise": "late",
                },
                {"id": "late", "kind": "add_tag", "tag": "checked-later"},
                {"id": "end", "kind": "exit"},
            ],
        }
    )
    ingest(engine, contact("c1"))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        await enroll_and_finish(time_skipping_env, router, engine, flow, "c1")
        history = [
            e
            async for e in time_skipping_env.client.get_workflow_handle(
                "journey/clock/c1"
            ).fetch_history_events()
        ]
    with engine.connect() as conn:
        assert load_snapshot(conn, "c1").tags == {"today", "checked-later"}
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert "evaluate_condition" not in scheduled  # the workflow's own clock decided both


async def test_a_loop_whose_wait_is_skipped_stops_instead_of_spinning(
    time_skipping_env, engine, settings
):
    # Validation refuses this flow (the wait can be skipped); a journey given it anyway,
    # e.g. from a document published before that rule existed, must not spin.
    from domain.journey import JourneyInput
    from workflows.journey import JourneyWorkflow

    flow = flow_from(
        {
            "id": "spin",
            "version": 1,
            "steps": [
                {"id": "mail", "kind": "send_email", "subject": "Again?", "body": "."},
                {"id": "pause", "kind": "wait", "delay": "1d", "run_if": GATED, "next": "mail"},
            ],
        }
    )
    ingest(engine, contact("c1", email="c1@example.com"))
    async with journey_worker(time_skipping_env.client, engine, settings):
        handle = await time_skipping_env.client.start_workflow(
            JourneyWorkflow.run,
            JourneyInput(flow=flow, contact_id="c1", enrollment_id="e1"),
            id="journey/spin/c1",
            task_queue=settings.task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    assert failure.value.cause.type == "LoopWithoutWait"
    assert [m.subject for m in outbox(engine, "c1")] == ["Again?"]


async def test_business_hours_in_the_contacts_own_zone(time_skipping_env, engine, settings):
    """current_time with timezone "contact": the zone journeys' timing uses (attribute,
    else phone, else the flow's default), read by the condition activity."""
    start = await time_skipping_env.get_current_time()
    tokyo_now = start.astimezone(ZoneInfo("Asia/Tokyo"))
    # Two hours around Tokyo's time of day now: Honolulu (19 h behind) is outside.
    window = {
        "after": (tokyo_now - timedelta(hours=1)).strftime("%H:%M"),
        "before": (tokyo_now + timedelta(hours=1)).strftime("%H:%M"),
    }
    flow = flow_from(
        {
            "id": "hours",
            "schedule": {"time_zone": "Asia/Tokyo"},
            "steps": [
                {
                    "id": "open",
                    "kind": "branch",
                    "condition": {"kind": "current_time", "timezone": "contact", **window},
                    "then": "in-hours",
                    "otherwise": "out-of-hours",
                },
                {"id": "in-hours", "kind": "add_tag", "tag": "open", "next": "end"},
                {"id": "out-of-hours", "kind": "add_tag", "tag": "closed"},
                {"id": "end", "kind": "exit"},
            ],
        }
    )
    ingest(
        engine,
        contact("tokyo", time_zone="Asia/Tokyo")
        + contact("honolulu", tz="Pacific/Honolulu")
        + contact("no-zone"),
    )
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        for contact_id in ("tokyo", "honolulu", "no-zone"):
            await enroll_and_finish(time_skipping_env, router, engine, flow, contact_id)
    with engine.connect() as conn:
        tags = {c: load_snapshot(conn, c).tags for c in ("tokyo", "honolulu", "no-zone")}
    # no-zone has no attribute or phone: the flow's own default zone (Tokyo) applies.
    assert tags == {"tokyo": {"open"}, "honolulu": {"closed"}, "no-zone": {"open"}}
