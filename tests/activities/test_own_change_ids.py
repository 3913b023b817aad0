"""A contact-change step run is applied once whether its request carries the journey's
origin or not (domain.change_ids): a run an older journey began unmarked and that runs
again marked (the journey reset to its start, a first workflow task retried across a
deploy) finds what it stored and appends nothing, takes no second lead-router turn and
counts no second conversion."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from temporalio.testing import ActivityEnvironment

from activities import contact_changes
from activities.contact_changes import ContactChangeActivities
from domain.change_ids import change_event_id, journey_origin
from domain.contracts.contact_changes import ContactChangeRequest
from domain.events import ContactEvent
from projections.change_schema import lead_router_turns
from projections.event_store import ingest, read_contact
from tests.journey_harness import contact
from tests.workflows.test_journey_contact_changes import ROUTERS, request, rows

KEY = "journey/f/c1/e1/s/1"
ORIGIN = journey_origin("journey/f/c1", "e1")


def _own(engine) -> list[str]:
    with engine.connect() as conn:
        return [e.type for e in read_contact(conn, "c1") if e.source == "dripstone.journey"]


async def test_a_step_run_begun_unmarked_is_not_applied_again_marked(engine):
    ingest(engine, contact("c1"))
    activities = ContactChangeActivities(engine, ROUTERS)
    env = ActivityEnvironment()
    unmarked = request("add_to_lead_router", key=KEY, router="sales")
    first = await env.run(activities.apply_contact_change, unmarked)
    again = await env.run(
        activities.apply_contact_change, unmarked.model_copy(update={"origin": ORIGIN})
    )
    assert first.data["appended"] == 1 and again.data["appended"] == 0
    assert again.data["event_ids"] == first.data["event_ids"]
    assert len(rows(engine, lead_router_turns)) == 1
    assert sum(row["turns"] for row in rows(engine, lead_router_turns)) == 1
    assert _own(engine) == ["contact.owner_assigned"]


async def test_a_conversion_begun_unmarked_is_counted_once(engine):
    ingest(engine, contact("c1"))
    activities = ContactChangeActivities(engine)
    env = ActivityEnvironment()
    converted = {
        "idempotency_key": f"{KEY}/converted",
        "contact_id": "c1",
        "event_type": "journey.converted",
        "payload": {
            "flow_id": "f",
            "flow_version": 1,
            "goal_step": "g",
            "step_id": "s",
            "journey_id": "journey/f/c1",
            "enrollment_id": "e1",
        },
    }
    first = await env.run(activities.change_contact, ContactChangeRequest(**converted))
    again = await env.run(
        activities.change_contact, ContactChangeRequest(**converted, origin=ORIGIN)
    )
    assert first.appended and not again.appended
    assert again.event_id == first.event_id == change_event_id(f"{KEY}/converted")
    assert _own(engine) == ["journey.converted"]


async def test_marked_runs_append_once_under_their_marked_ids(engine):
    ingest(engine, contact("c1"))
    activities = ContactChangeActivities(engine, ROUTERS)
    env = ActivityEnvironment()
    marked = request("add_to_lead_router", key=KEY, router="sales").model_copy(
        update={"origin": ORIGIN}
    )
    first = await env.run(activities.apply_contact_change, marked)
    again = await env.run(activities.apply_contact_change, marked)
    assert (first.data["appended"], again.data["appended"]) == (1, 0)
    assert first.data["event_ids"][0].startswith(f"journey:{ORIGIN}.")
    tag = ContactChangeRequest(
        idempotency_key=f"{KEY}/t",
        contact_id="c1",
        event_type="contact.tag_added",
        payload={"tag": "vip"},
        origin=ORIGIN,
    )
    once, twice = [await env.run(activities.change_contact, tag) for _ in range(2)]
    assert once.appended and not twice.appended and once.event_id == twice.event_id
    assert once.event_id == change_event_id(f"{KEY}/t", ORIGIN)


async def test_a_run_begun_marked_is_not_applied_again_unmarked(engine):
    # Only a rollback to a release before v11 would run it so; still applied once.
    ingest(engine, contact("c1"))
    activities = ContactChangeActivities(engine, ROUTERS)
    env = ActivityEnvironment()
    unmarked = request("add_to_lead_router", key=KEY, router="sales")
    first = await env.run(
        activities.apply_contact_change, unmarked.model_copy(update={"origin": ORIGIN})
    )
    again = await env.run(activities.apply_contact_change, unmarked)
    assert (first.data["appended"], again.data["appended"]) == (1, 0)
    assert again.data["event_ids"] == first.data["event_ids"]
    assert sum(row["turns"] for row in rows(engine, lead_router_turns)) == 1


def test_two_attempts_in_either_form_at_once_store_one_change(engine, monkeypatch):
    """The unmarked attempt holds its transaction open after its append; the marked one
    starts meanwhile. Without the check after the append both would be stored (their
    ids differ, so the unique index lets both in)."""
    ingest(engine, contact("c1"))
    activities = ContactChangeActivities(engine)
    tag = ContactChangeRequest(
        idempotency_key=f"{KEY}/t",
        contact_id="c1",
        event_type="contact.tag_added",
        payload={"tag": "vip"},
    )
    real_append, unmarked_in = contact_changes.append, threading.Event()

    def slow_unmarked(conn, batch, **options):
        appended = real_append(conn, batch, **options)
        if not batch[0].event_id.split(":", 1)[1].count("."):  # the unmarked attempt
            unmarked_in.set()
            time.sleep(0.5)
        return appended

    monkeypatch.setattr(contact_changes, "append", slow_unmarked)

    def attempt(request: ContactChangeRequest):
        event = ContactEvent(
            event_id=change_event_id(request.idempotency_key, request.origin),
            type=request.event_type,
            contact_id="c1",
            occurred_at=datetime.now(UTC),
            source="dripstone.journey",
            payload=request.payload,
        )
        return activities._append_one(request, event)

    with ThreadPoolExecutor(2) as pool:
        old = pool.submit(attempt, tag)
        assert unmarked_in.wait(10)
        new = pool.submit(attempt, tag.model_copy(update={"origin": ORIGIN}))
        results = [old.result(), new.result()]
    assert results == [(change_event_id(f"{KEY}/t"), True), (change_event_id(f"{KEY}/t"), False)]
    assert _own(engine) == ["contact.tag_added"]
