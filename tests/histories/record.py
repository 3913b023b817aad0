"""Regenerate the stored JourneyWorkflow histories that the replay test checks.

Run only when a workflow change is intentional *and* patched:
    DRIPSTONE_TEST_SERVER_BIN=... uv run python -m tests.histories.record v2 [out-dir]
Old histories must keep replaying, so add new files rather than overwrite old ones:
recording refuses to start when any file it would write already exists.

Besides the two original scenarios (the sample welcome flow and flow-control), it
records journeys driven while they run:
- live-journey: wait-for-event (a non-matching event, pause and resume, then the
  awaited event), a plain wait, and a goal met by an event during that wait;
- continued: a journey flooded with events until it continues as new (both runs);
- timing: when.local_at, a time-of-day wait and a flow's send window, in the
  contact's own time zone (the "plan_wake" activity);
- actions: contact-change steps (apply_contact_change), a webhook to a loopback
  receiver and start_flow waiting for a sub-flow (its child history too).
"""

import asyncio
import sys
import tempfile
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter

from cli.dev_stack import SAMPLE_FLOW
from cli.flow_files import load_flow_file
from domain.flow import Flow
from domain.journey import JourneyStatus
from projections.database import make_engine, migrate
from projections.event_store import ingest
from projections.flow_catalogue import publish
from settings import Settings
from tests.conftest import _start_time_skipping
from tests.fakes.webhook_target import Answer, WebhookTarget
from tests.journey_harness import (
    contact,
    enroll_and_finish,
    event,
    flow_from,
    journey_result,
    journey_worker,
)
from tests.workflows.live_journeys import at_step, send, start

HERE = Path(__file__).parent
SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
COMPLETED_TASK = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
NEW_YORK = ZoneInfo("America/New_York")


FLOW_CONTROL = {
    "id": "flow-control",
    "trigger": {"event": "form.submitted"},
    "steps": [
        {
            "id": "hello",
            "kind": "send_email",
            "subject": "Hi {{ first_name }}",
            "body": ".",
            "when": {"delay": "1h"},
        },
        {
            "id": "vip-only",
            "kind": "send_sms",
            "text": "VIP",
            "run_if": {"kind": "has_tag", "tag": "vip"},
            "on_false": "skip",
        },
        {
            "id": "route",
            "kind": "multi_branch",
            "paths": [
                {
                    "condition": {
                        "kind": "attribute",
                        "field": "points",
                        "op": "gte",
                        "value": 100,
                    },
                    "goto": "split",
                }
            ],
            "otherwise": "end",
        },
        {
            "id": "split",
            "kind": "split",
            "paths": [{"percent": 50, "goto": "a"}, {"percent": 50, "goto": "b"}],
        },
        {
            "id": "a",
            "kind": "change_tags",
            "add": ["variant-a"],
            "remove": ["lead"],
            "next": "pause",
        },
        {"id": "b", "kind": "change_tags", "add": ["variant-b"], "remove": ["lead"]},
        {"id": "pause", "kind": "wait", "delay": "2d"},
        {"id": "end", "kind": "exit", "reason": "done"},
    ],
}

LIVE_FLOW = {
    "id": "live-journey",
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
            "next": "think",
        },
        {"id": "nudge", "kind": "send_email", "subject": "Still there?", "body": "."},
        {"id": "think", "kind": "wait", "delay": "3d"},
        {"id": "again", "kind": "send_email", "subject": "Last chance", "body": "."},
        {"id": "bought", "kind": "goal", "goal": {"kind": "purchased_product", "product": "pro"}},
    ],
}

CONTINUED_FLOW = {
    "id": "continued",
    "steps": [
        {
            "id": "long",
            "kind": "wait_for_event",
            "event": "custom",
            "timeout": "30d",
            "on_event": "never",
            "on_timeout": "mail",
        },
        {"id": "never", "kind": "exit", "reason": "unexpected"},
        {"id": "mail", "kind": "send_email", "subject": "A month later", "body": "."},
    ],
}
CONTINUED_EVENTS = 600  # past EVENTS_PER_RUN (500): the journey continues as new once

SUB_FLOW = {
    "id": "actions-sub",
    "trigger": {"event": "custom"},
    "steps": [
        {"id": "sub-wait", "kind": "wait", "delay": "2d"},
        {"id": "sub-mail", "kind": "send_email", "subject": "From the sub-flow", "body": "."},
    ],
}


def actions_flow(webhook_url: str) -> dict:
    return {
        "id": "actions",
        "steps": [
            {"id": "note", "kind": "make_note", "text": "Entered the actions flow"},
            {
                "id": "update",
                "kind": "update_contact",
                "changes": [
                    {"field": "status", "action": "set", "value": "client"},
                    {"field": "visits", "action": "increment", "by": 1},
                ],
            },
            {"id": "listed", "kind": "add_to_list", "list_type": "selection", "list_id": "vip"},
            {
                "id": "hook",
                "kind": "webhook",
                "url": f"{webhook_url}/in",
                "body": '{"contact": "{{ contact_id }}"}',
            },
            {
                "id": "child",
                "kind": "start_flow",
                "flow_id": SUB_FLOW["id"],
                "wait_for_completion": True,
            },
            {"id": "after", "kind": "send_email", "subject": "After the sub-flow", "body": "."},
        ],
    }


def timing_flow(local_at: datetime) -> dict:
    return {
        "id": "timing",
        "schedule": {
            "time_zone": "America/New_York",
            "send_window": {"start": "10:00", "end": "20:00"},
        },
        "steps": [
            {
                "id": "local",
                "kind": "send_email",
                "subject": "At eleven, local time",
                "body": ".",
                "when": {"local_at": local_at.isoformat()},
            },
            {"id": "nine", "kind": "wait", "time_of_day": {"at": "09:00"}},
            # Due at 09:00, before the window opens at 10:00: held for it.
            {"id": "windowed", "kind": "send_email", "subject": "In the window", "body": "."},
        ],
    }


def targets_for(name: str, out: Path) -> dict[str, Path]:
    welcome_id = load_flow_file(SAMPLE_FLOW)[0].id
    stems = [
        f"{welcome_id}_journey",
        f"{FLOW_CONTROL['id']}_journey",
        "live-journey",
        "continued",
        "continued-second-run",
        "timing",
        "actions",
        "actions-sub-flow",
    ]
    return {stem: out / f"{stem}_{name}.json" for stem in stems}


async def record(server_bin: str, name: str, out: Path = HERE) -> list[Path]:
    """Record every scenario; `name` is the file-name suffix (bump it, never overwrite)."""
    targets = targets_for(name, out)
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing:
        raise SystemExit(f"refusing to overwrite stored histories: {existing}; pick a new suffix")
    out.mkdir(parents=True, exist_ok=True)
    # Started as the tests start it (its startup timeout suits a busy machine).
    env = await _start_time_skipping(pydantic_data_converter)
    workdir = Path(tempfile.mkdtemp())
    engine = make_engine(f"sqlite:///{workdir / 'record.db'}")
    migrate(engine)
    settings = Settings(_env_file=None, data_dir=workdir, task_queue="record")
    welcome, _ = load_flow_file(SAMPLE_FLOW)
    control = Flow.model_validate(FLOW_CONTROL)
    ingest(
        engine,
        contact(
            "c-1",
            email="one@example.com",
            phone="+14155550100",
            first_name="One",
            tags=("engaged", "lead"),
            points=500,
        ),
    )
    written = []

    async def store(stem: str, workflow_id: str, run_id: str | None = None) -> None:
        history = await env.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        with targets[stem].open("x") as file:  # "x": never overwrite
            file.write(history.to_json())
        written.append(targets[stem])

    try:
        async with journey_worker(env.client, engine, settings) as router:
            for flow in (welcome, control):
                await enroll_and_finish(env, router, engine, flow, "c-1")
                await store(f"{flow.id}_journey", f"journey/{flow.id}/c-1")
            await record_live(env, router, engine, store)
            await record_continued(env, router, engine, store)
            await record_timing(env, router, engine, store)
        # Webhooks to the loopback receiver need the setting; a worker of its own.
        options = Settings(
            _env_file=None,
            data_dir=workdir,
            task_queue="record-actions",
            webhook_allow_private_targets=True,
            webhook_signing_secret="record",
        )
        with WebhookTarget(Answer(200, {"accepted": True})) as target:
            async with journey_worker(env.client, engine, options) as router:
                await record_actions(env, router, engine, store, target.url)
            assert len(target.requests) == 1, target.requests
    finally:
        await env.shutdown()
    return written


async def record_live(env, router, engine, store) -> None:
    """A non-matching event, pause and resume during wait-for-event, then the awaited
    event, then a goal met by an event during the plain wait."""
    ingest(engine, contact("live-1", email="live-1@example.com"))
    journey = await start(router, engine, flow_from(LIVE_FLOW), "live-1")
    handle = env.client.get_workflow_handle(journey)
    await at_step(env, journey, "reply")
    await send(router, engine, "live-1", "page.visited", {"page": "/pricing"})
    # Pause only once that event is fully handled: a pause arriving while its goal
    # check runs leaves the status at "waiting" (the wait sees paused already set).
    await _settled(env, journey)
    await handle.signal("pause")
    await at_step(env, journey, "reply", JourneyStatus.PAUSED)
    await handle.signal("resume")
    await _settled(env, journey)
    await at_step(env, journey, "reply")
    await send(router, engine, "live-1", "sms.received", {"body": "yes"})
    await at_step(env, journey, "think")
    # Stored first (send ingests, then routes), so the goal's condition activity sees it.
    await send(router, engine, "live-1", "product.purchased", {"product": "pro"})
    state = await journey_result(env, journey)
    assert state.status == JourneyStatus.CONVERTED, state
    assert state.conversion.attributed_step == "think", state.conversion
    await store("live-journey", journey)


async def record_continued(env, router, engine, store) -> None:
    ingest(engine, contact("busy-1", email="busy-1@example.com"))
    journey = await start(router, engine, flow_from(CONTINUED_FLOW), "busy-1")
    await at_step(env, journey, "long")
    handle = env.client.get_workflow_handle(journey)
    for first in range(0, CONTINUED_EVENTS, 100):
        await asyncio.gather(
            *(handle.signal("event", _visit("busy-1", n)) for n in range(first, first + 100))
        )
        # Paced: a run under a nonstop flood of signals cannot complete continue-as-new.
        await _taken_in(env, journey, first + 101)
    state = await journey_result(env, journey)
    # Its own message.sent events may reach it too (they are routed like any event).
    assert state.events_seen >= CONTINUED_EVENTS + 1, state.events_seen
    runs = await _run_ids(env, journey)
    assert len(runs) >= 2 and state.runs == len(runs), (runs, state.runs)
    await store("continued", journey, runs[0])
    await store("continued-second-run", journey, runs[1])


async def record_timing(env, router, engine, store) -> None:
    now = (await env.get_current_time()).astimezone(NEW_YORK)
    local_at = datetime.combine(now.date() + timedelta(days=1), time(11, 0))
    ingest(engine, contact("tz-1", email="tz-1@example.com", time_zone="America/New_York"))
    journey = await start(router, engine, flow_from(timing_flow(local_at)), "tz-1")
    state = await journey_result(env, journey)
    assert state.status == JourneyStatus.COMPLETED, state
    sent = next(v.at for v in state.trail if v.step_id == "windowed").astimezone(NEW_YORK)
    assert sent.time().replace(second=0, microsecond=0) == time(10, 0), sent
    await store("timing", journey)


async def record_actions(env, router, engine, store, webhook_url: str) -> None:
    ingest(engine, contact("act-1", email="act-1@example.com", visits=3))
    with engine.begin() as conn:
        publish(conn, flow_from(SUB_FLOW))
    # The worker recording it allows private targets (the receiver is on loopback).
    journey = await start(
        router, engine, flow_from(actions_flow(webhook_url)), "act-1", allow_private_targets=True
    )
    state = await journey_result(env, journey)
    outcomes = [v.outcome for v in state.trail]
    assert state.status == JourneyStatus.COMPLETED, state
    assert outcomes[:4] == [
        "make_note done",
        "update_contact done",
        "add_to_list done",
        "webhook done",
    ], outcomes
    assert outcomes[4] == f"sub-flow {SUB_FLOW['id']} completed", outcomes
    await store("actions", journey)
    await store("actions-sub-flow", await _child_id(env, journey))


async def _child_id(env, journey: str) -> str:
    async for history_event in env.client.get_workflow_handle(journey).fetch_history_events():
        if history_event.HasField("start_child_workflow_execution_initiated_event_attributes"):
            return (
                history_event.start_child_workflow_execution_initiated_event_attributes.workflow_id
            )
    raise AssertionError(f"{journey} started no child workflow")


async def _settled(env, journey: str) -> None:
    """Until the journey's latest workflow task completed after every signal and
    activity result, with no activity still running (read from history)."""
    done = {
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    }
    for _ in range(500):
        kinds = [
            e.event_type
            for e in (await env.client.get_workflow_handle(journey).fetch_history()).events
        ]
        last_task = max((i for i, k in enumerate(kinds) if k == COMPLETED_TASK), default=-1)
        woken = max((i for i, k in enumerate(kinds) if k == SIGNALED or k in done), default=-1)
        scheduled = kinds.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        if last_task > woken and scheduled == sum(k in done for k in kinds):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"journey {journey} did not settle")


def _visit(contact_id: str, n: int):
    return event(
        contact_id, "page.visited", {"page": f"/p/{n}"}, event_id=f"visit-{contact_id}-{n}"
    )


async def _run_ids(env, workflow_id: str) -> list[str]:
    """Every run of the journey, first run first."""
    latest = await env.client.get_workflow_handle(workflow_id).describe()
    run_ids, run_id = [latest.run_id], latest.run_id
    while True:
        history = await env.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        run_id = history.events[
            0
        ].workflow_execution_started_event_attributes.continued_execution_run_id
        if not run_id:
            return run_ids[::-1]
        run_ids.append(run_id)


async def _taken_in(env, journey: str, events_seen: int) -> None:
    """Until the journey has recorded that many signals over all its runs and its
    latest run has completed a workflow task after the last one (read from history: a
    query landing on a run as it continues as new is dropped by the test server)."""
    for _ in range(500):
        histories = [
            await env.client.get_workflow_handle(journey, run_id=run).fetch_history()
            for run in await _run_ids(env, journey)
        ]
        if sum(e.event_type == SIGNALED for h in histories for e in h.events) >= events_seen:
            kinds = [e.event_type for e in histories[-1].events]
            signalled = [i for i, k in enumerate(kinds) if k == SIGNALED]
            if not signalled or COMPLETED_TASK in kinds[signalled[-1] :]:
                return
        await asyncio.sleep(0.02)
    raise AssertionError(f"journey {journey} did not take in {events_seen} events")


if __name__ == "__main__":
    import os

    print(
        asyncio.run(
            record(
                os.environ["DRIPSTONE_TEST_SERVER_BIN"],
                sys.argv[1] if len(sys.argv) > 1 else "v1",
                Path(sys.argv[2]) if len(sys.argv) > 2 else HERE,
            )
        )
    )
