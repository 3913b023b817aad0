"""Pausing or archiving a whole flow holds or ends its journeys: a durable operation
(FlowControlWorkflow) pages through the journey index and signals each live journey,
and the index follows (paused, then ended). Also the wake-up of a journey waiting for
an event, in wall-clock time on a real server."""

import asyncio
import time

import pytest

from domain.journey import JourneyStatus
from projections import journey_index as index
from projections.event_store import ingest
from routing.flow_operations import flow_control_progress, start_flow_control, wait_for_flow_control
from tests.journey_harness import contact, flow_from, journey_result, journey_worker, outbox
from tests.workflows.live_journeys import at_step, send, start, state_of

pytestmark = pytest.mark.devserver

WAITING = [
    {"id": "hold", "kind": "wait", "delay": "30d"},
    {"id": "mail", "kind": "send_email", "subject": "Much later", "body": "."},
]


def indexed(engine, flow_id: str) -> list[str]:
    with engine.connect() as conn:
        return sorted(j.status for c in ("fw1", "fw2") for j in index.for_contact(conn, c, flow_id))


async def test_pausing_then_archiving_a_flow_holds_then_ends_its_journeys(
    dev_server_env, engine, settings
):
    env = dev_server_env
    flow = flow_from({"id": "flow-wide", "steps": WAITING})
    for contact_id in ("fw1", "fw2"):
        ingest(engine, contact(contact_id, email=f"{contact_id}@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        journeys = [await start(router, engine, flow, c) for c in ("fw1", "fw2")]
        for journey in journeys:
            await at_step(env, journey, "hold")
        pausing = await start_flow_control(
            env.client, "flow-wide", "pause", None, settings.task_queue
        )
        paused = await wait_for_flow_control(env.client, pausing)
        assert (paused.workflow_id, paused.status, paused.signalled) == (pausing, "completed", 2)
        assert await flow_control_progress(env.client, pausing) == paused
        for journey in journeys:
            await at_step(env, journey, "hold", JourneyStatus.PAUSED)
        assert indexed(engine, "flow-wide") == ["paused", "paused"]
        stopping = await start_flow_control(
            env.client, "flow-wide", "stop", "flow archived", settings.task_queue
        )
        assert (await wait_for_flow_control(env.client, stopping)).signalled == 2
        states = [await journey_result(env, journey) for journey in journeys]
        # Nothing live is left: another operation finds nobody to signal.
        for _ in range(100):
            if indexed(engine, "flow-wide") == ["ended", "ended"]:
                break
            await asyncio.sleep(0.05)
        again = await start_flow_control(env.client, "flow-wide", "stop", None, settings.task_queue)
        assert (await wait_for_flow_control(env.client, again)).signalled == 0
    assert [(s.status, s.exit_reason) for s in states] == [
        (JourneyStatus.EXITED, "stopped: flow archived")
    ] * 2
    assert indexed(engine, "flow-wide") == ["ended", "ended"]
    assert outbox(engine) == []


async def test_a_waiting_journey_wakes_within_a_second_of_the_event(
    dev_server_env, engine, settings
):
    env = dev_server_env
    flow = flow_from(
        {
            "id": "wake-up",
            "steps": [
                {
                    "id": "reply",
                    "kind": "wait_for_event",
                    "event": "sms.received",
                    "timeout": "1d",
                    "on_event": "thanks",
                },
                {"id": "thanks", "kind": "send_email", "subject": "Thanks", "body": "."},
            ],
        }
    )
    ingest(engine, contact("wk1", email="wk1@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        journey = await start(router, engine, flow, "wk1")
        await at_step(env, journey, "reply")
        ingested = time.monotonic()
        await send(router, engine, "wk1", "sms.received", {"body": "yes"})
        while (await state_of(env, journey)).current_step == "reply":
            await asyncio.sleep(0.01)
        woke = time.monotonic() - ingested
        await journey_result(env, journey)
    assert [m.subject for m in outbox(engine, "wk1")] == ["Thanks"]
    # Reported, not asserted (timings belong in bench/): the event branch taken is proof
    # it woke before the day's timeout.
    print(f"event-to-wake-up: {woke * 1000:.0f} ms")
