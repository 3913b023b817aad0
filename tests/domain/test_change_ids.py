"""Ids of the events journeys append (domain.change_ids): stable per step run, and
marked with the journey's origin only when the request carries one."""

from uuid import NAMESPACE_URL, uuid5

from domain.change_ids import (
    change_event_id,
    change_prefix,
    indexed_change_event_id,
    journey_origin,
    made_by,
)
from domain.events import ContactEvent


def test_ids_are_stable_per_key_and_a_run_finds_its_own_by_prefix():
    assert indexed_change_event_id("k", 0) == indexed_change_event_id("k", 0)
    assert indexed_change_event_id("k", 0) != indexed_change_event_id("k", 1)
    assert indexed_change_event_id("k", 3).startswith(change_prefix("k"))
    assert not indexed_change_event_id("k2", 0).startswith(change_prefix("k"))
    origin = journey_origin("journey/f/c", "e1")
    assert indexed_change_event_id("k", 3, origin).startswith(change_prefix("k", origin))
    assert not indexed_change_event_id("k", 3).startswith(change_prefix("k", origin))


def test_without_an_origin_the_ids_are_those_stored_before_origins():
    # Events already in stores (and retries of steps started by older journeys) keep
    # these ids, so a retried append still finds its event.
    digest = uuid5(NAMESPACE_URL, "journey/f/c/e1/tag/1")
    assert change_event_id("journey/f/c/e1/tag/1") == f"journey:{digest}"
    assert indexed_change_event_id("journey/f/c/e1/tag/1", 2) == f"journey:{digest}/2"


def test_only_the_originating_run_is_told_it_made_the_event():
    mine, theirs = journey_origin("journey/f/c", "e1"), journey_origin("journey/g/c", "e1")
    again = journey_origin("journey/f/c", "e2")  # the same flow, re-entered: another run
    for event_id in (change_event_id("key", mine), indexed_change_event_id("key", 0, mine)):
        assert made_by(mine, event_id)
        assert not made_by(theirs, event_id) and not made_by(again, event_id)
    assert not made_by(mine, change_event_id("key"))  # unmarked: every journey hears it


def test_marked_ids_are_valid_event_ids_and_hold_no_personal_data():
    origin = journey_origin("journey/welcome/grace@example.org", "signup-1")
    event_id = indexed_change_event_id("journey/welcome/grace@example.org/signup-1/t/1", 12, origin)
    assert "grace" not in event_id and "example" not in event_id and len(event_id) <= 200
    ContactEvent.model_validate(
        {
            "event_id": event_id,
            "type": "contact.tag_added",
            "contact_id": "c1",
            "occurred_at": "2026-01-01T00:00:00Z",
            "payload": {"tag": "vip"},
        }
    )
