"""Journeys on Temporal's time-skipping test server: days of timers in seconds."""

from datetime import timedelta

from domain.journey import JourneyStatus
from projections.event_store import ingest
from tests.journey_harness import contact, enroll_and_finish, flow_from, journey_worker, outbox


async def test_three_day_drip_completes_in_virtual_time(time_skipping_env, engine, settings):
    flow = flow_from(
        {
            "id": "drip3",
            "steps": [
                {
                    "id": "hello",
                    "kind": "send_email",
                    "subject": "Hi {{ first_name }}",
                    "body": "Day 0",
                },
                {"id": "pause", "kind": "wait", "delay": "3d"},
                {"id": "again", "kind": "send_email", "subject": "Still here?", "body": "Day 3"},
            ],
        }
    )
    ingest(engine, contact("c1", email="c1@example.com", first_name="Ann"))
    started = await time_skipping_env.get_current_time()
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        state = await enroll_and_finish(time_skipping_env, router, engine, flow, "c1")
    elapsed = await time_skipping_env.get_current_time() - started
    assert state.status == JourneyStatus.COMPLETED
    assert elapsed >= timedelta(days=3)
    sent = outbox(engine, "c1")
    assert [m.subject for m in sent] == ["Hi Ann", "Still here?"]
    assert [v.step_id for v in state.trail] == ["hello", "pause", "again"]


async def test_wait_until_a_date_time(time_skipping_env, engine, settings):
    now = await time_skipping_env.get_current_time()
    until = (now + timedelta(days=10)).isoformat()
    flow = flow_from(
        {
            "id": "dated",
            "steps": [
                {"id": "hold", "kind": "wait", "until": until},
                {"id": "mail", "kind": "send_email", "subject": "It is time", "body": "."},
            ],
        }
    )
    ingest(engine, contact("c2", email="c2@example.com"))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        state = await enroll_and_finish(time_skipping_env, router, engine, flow, "c2")
    assert state.status == JourneyStatus.COMPLETED
    assert await time_skipping_env.get_current_time() - now >= timedelta(days=10)
    assert len(outbox(engine, "c2")) == 1
