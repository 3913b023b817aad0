"""/v1/dispatch over HTTP: how many events wait to be routed, and the dead letters
(dispatches set aside), listed page by page, retried and skipped. No Temporal needed."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from projections.dispatches import set_aside
from projections.event_store import ingest
from projections.schema import event_dispatches, events
from tests.api.v1_harness import ok, sync_client
from tests.journey_harness import event


@pytest.fixture
def client(settings, engine):
    with sync_client(settings, engine) as test_client:
        yield test_client


def dead_letter(engine, event_id: str, contact_id: str, reason: str | None = None) -> None:
    """An event stored for dispatch, then set aside as routing would."""
    ingest(
        engine, [event(contact_id, "custom", {"name": "clicked"}, event_id=event_id)], dispatch=True
    )
    if reason is not None:
        with engine.begin() as conn:
            set_aside(conn, event_id, reason, datetime.now(UTC))


def dispatch_rows(engine) -> dict[str, bool]:
    """event id -> dead?"""
    with engine.connect() as conn:
        return {
            r.event_id: r.dead_at is not None
            for r in conn.execute(select(event_dispatches.c.event_id, event_dispatches.c.dead_at))
        }


def test_dead_letters_are_listed_retried_and_skipped(client, engine):
    dead_letter(engine, "dl-1", "dl-ann", "flow 'x' version 3 is gone")
    dead_letter(engine, "shop:order/42", "dl-bob", "payload too large")  # a slash in the id
    dead_letter(engine, "dl-3", "dl-cy")  # waiting, not dead
    assert ok(client.get("/v1/dispatch")) == {"waiting": 1, "failing": 0, "dead": 2}

    first = ok(client.get("/v1/dispatch/dead-letters", params={"limit": 1}))
    [letter] = first["dead_letters"]
    assert (
        letter["event_id"],
        letter["contact_id"],
        letter["type"],
        letter["attempts"],
        letter["reason"],
    ) == ("dl-1", "dl-ann", "custom", 1, "flow 'x' version 3 is gone")
    assert letter["dead_at"] and letter["created_at"]
    assert first["next_after"] == letter["position"]
    second = ok(
        client.get("/v1/dispatch/dead-letters", params={"limit": 1, "after": first["next_after"]})
    )
    assert [d["event_id"] for d in second["dead_letters"]] == ["shop:order/42"]
    assert second["next_after"] is None  # the last page
    every = ok(client.get("/v1/dispatch/dead-letters"))
    assert ([d["event_id"] for d in every["dead_letters"]], every["next_after"]) == (
        ["dl-1", "shop:order/42"],
        None,
    )

    assert ok(client.post("/v1/dispatch/dead-letters/dl-1/retry")) == {
        "event_id": "dl-1",
        "action": "retried",
    }
    assert ok(client.post("/v1/dispatch/dead-letters/shop%3Aorder%2F42/skip")) == {
        "event_id": "shop:order/42",
        "action": "skipped",
    }
    # dl-1 is back in line (due at once), shop:order/42 will never be routed.
    assert dispatch_rows(engine) == {"dl-1": False, "dl-3": False}
    assert ok(client.get("/v1/dispatch")) == {"waiting": 2, "failing": 1, "dead": 0}
    assert ok(client.get("/v1/dispatch/dead-letters")) == {"dead_letters": [], "next_after": None}
    with engine.connect() as conn:  # skipped, yet still stored (and projected)
        assert conn.execute(
            select(events.c.event_id).where(events.c.event_id == "shop:order/42")
        ).scalar_one()


def test_only_dead_letters_can_be_retried_or_skipped(client, engine):
    dead_letter(engine, "dl-waiting", "dl-dee")
    for action in ("retry", "skip"):
        for event_id in ("dl-waiting", "dl-never-stored"):
            response = client.post(f"/v1/dispatch/dead-letters/{event_id}/{action}")
            assert response.status_code == 404, (action, event_id)
            assert response.json() == {"detail": f"event {event_id!r} is not a dead letter"}
    assert dispatch_rows(engine) == {"dl-waiting": False}
    bad = client.get("/v1/dispatch/dead-letters", params={"limit": 0, "after": -1})
    assert bad.status_code == 422
    assert sorted(d["loc"] for d in bad.json()["detail"]) == ["query.after", "query.limit"]
