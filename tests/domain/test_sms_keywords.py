"""Opt-out keywords derived from any sms.received, whatever its source."""

from datetime import UTC, datetime

import pytest

from domain.events import ContactEvent, EventType
from domain.sms_keywords import consequences, keyword, opting_in


def reply(body: str, event_id: str = "relay-1", **payload) -> ContactEvent:
    return ContactEvent(
        event_id=event_id,
        type=EventType.SMS_RECEIVED,
        contact_id="c1",
        occurred_at=datetime(2026, 12, 2, tzinfo=UTC),
        source="relay",
        payload={"body": body, **payload},
    )


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (" stop ", "STOP"),
        ("Stop.", "STOP"),
        ("UNSUBSCRIBE!", "STOP"),
        ("please stop", None),
        ("start", "START"),
        ("help", "HELP"),
        ("Yes please", None),
        ("", None),
    ],
)
def test_keywords_match_the_whole_message(body, said):
    assert keyword(body) == said


def test_twilio_classification_wins_over_the_text():
    assert keyword("arrêt", "stop") == "STOP"


def test_a_stop_brings_its_unsubscribe_and_a_start_its_resubscribe():
    stop = reply("STOP")
    [unsubscribed] = consequences([stop])
    assert (unsubscribed.event_id, unsubscribed.type, unsubscribed.payload) == (
        "relay-1:unsubscribed",
        EventType.UNSUBSCRIBED,
        {"channel": "sms"},
    )
    assert (unsubscribed.contact_id, unsubscribed.occurred_at) == (
        stop.contact_id,
        stop.occurred_at,
    )
    [resubscribed] = consequences([reply("start")], sms_opted_out={"c1"})
    assert resubscribed.type == EventType.RESUBSCRIBED
    assert opting_in([reply("yes"), reply("Tuesday works", "relay-2")]) == {"c1"}
    assert consequences([reply("Tuesday works"), reply("help", "relay-2")]) == []


def test_a_yes_from_a_contact_who_never_opted_out_is_only_an_answer():
    assert consequences([reply("Yes")], sms_opted_out=set()) == []


def test_a_stop_then_a_start_in_one_batch_resubscribes_as_separate_appends_would():
    derived = consequences([reply("STOP", "r-1"), reply("START", "r-2")])
    assert [e.type for e in derived] == [EventType.UNSUBSCRIBED, EventType.RESUBSCRIBED]


def test_a_long_message_is_never_a_keyword_and_costs_nothing():
    assert keyword("a" + " " * 40_000 + "b") is None
    assert keyword("stop" + " " * 60) == "STOP"


def test_a_long_event_id_still_derives_a_valid_stable_id():
    [first] = consequences([reply("STOP", "x" * 200)])
    [again] = consequences([reply("STOP", "x" * 200)])
    assert first.event_id == again.event_id and len(first.event_id) <= 200
    ContactEvent.model_validate(first.model_dump())  # the id format still holds
