"""parse_event: the edge validation every incoming contact event goes through."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.events import ContactEvent, EventRejected, parse_event

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def raw(**overrides):
    event = {
        "event_id": "evt-1",
        "type": "contact.updated",
        "contact_id": "c_123",
        "occurred_at": "2024-06-01T11:59:00Z",
        "source": "crm",
        "payload": {"email": "ann@example.com", "attributes": {"first_name": "Ann"}},
    }
    event.update(overrides)
    return {k: v for k, v in event.items() if v is not ...}


def rejected_fields(document) -> list[str]:
    with pytest.raises(EventRejected) as info:
        parse_event(document, now=NOW)
    assert str(info.value)  # the message is never empty
    return [field for field, _reason in info.value.problems]


def test_accepts_a_good_event():
    event = parse_event(raw(), now=NOW)
    assert isinstance(event, ContactEvent)
    assert event.event_id == "evt-1"
    assert event.type == "contact.updated"
    assert event.contact_id == "c_123"
    assert event.source == "crm"
    assert event.schema_version == 1
    assert event.occurred_at == datetime(2024, 6, 1, 11, 59, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert event.payload == {"email": "ann@example.com", "attributes": {"first_name": "Ann"}}


def test_payload_is_normalised_through_its_schema():
    # Defaults the sender did not give are not invented, but explicit nulls survive:
    # contact.updated clears an attribute set to null.
    event = parse_event(raw(payload={"attributes": {"city": None, "plan": "pro"}}), now=NOW)
    assert event.payload == {"attributes": {"city": None, "plan": "pro"}}
    assert "email" not in event.payload and "phone" not in event.payload


def test_envelope_whitespace_is_stripped_and_offsets_preserved_as_instants():
    event = parse_event(
        raw(contact_id="  c_123  ", occurred_at="2024-06-01T13:30:00+02:00"), now=NOW
    )
    assert event.contact_id == "c_123"
    assert event.occurred_at == datetime(2024, 6, 1, 11, 30, tzinfo=UTC)


def test_form_submission_payload_is_typed():
    event = parse_event(
        raw(type="form.submitted", payload={"form_id": "signup", "fields": {"first_name": "Ann"}}),
        now=NOW,
    )
    assert event.payload == {"form_id": "signup", "fields": {"first_name": "Ann"}}
    assert event.typed_payload().form_id == "signup"


def test_unknown_type_is_rejected_naming_the_type_field():
    with pytest.raises(EventRejected) as info:
        parse_event(raw(type="contact.teleported"), now=NOW)
    assert [field for field, _ in info.value.problems] == ["type"]
    assert "contact.teleported" in info.value.problems[0][1]


def test_missing_contact_id_is_rejected():
    assert "contact_id" in rejected_fields(raw(contact_id=...))


def test_missing_event_id_is_rejected():
    assert "event_id" in rejected_fields(raw(event_id=...))


def test_every_envelope_problem_is_reported_at_once():
    fields = rejected_fields(raw(contact_id=..., occurred_at=...))
    assert set(fields) >= {"contact_id", "occurred_at"}


@pytest.mark.parametrize(
    "type_, payload, field",
    [
        ("contact.tag_added", {}, "payload.tag"),
        ("contact.tag_added", {"tag": ""}, "payload.tag"),
        ("form.submitted", {"fields": {}}, "payload.form_id"),
        ("contact.updated", {"attributes": "not-a-mapping"}, "payload.attributes"),
        ("contact.updated", {"unexpected": 1}, "payload.unexpected"),
        ("message.sent", {"channel": "email", "message_key": "k"}, "payload.to"),
        ("sms.received", {"body": 42}, "payload.body"),
        # names that key read-model rows are bounded to their columns
        ("product.added", {"product": "p" * 201}, "payload.product"),
        ("page.visited", {"page": "home", "funnel": "f" * 201}, "payload.funnel"),
        ("email.opened", {"message_key": "k" * 401}, "payload.message_key"),
    ],
)
def test_bad_payload_shape_names_the_payload_field(type_, payload, field):
    assert field in rejected_fields(raw(type=type_, payload=payload))


def test_naive_occurred_at_is_rejected():
    assert rejected_fields(raw(occurred_at="2024-06-01T11:59:00")) == ["occurred_at"]


def test_absent_occurred_at_is_rejected():
    assert rejected_fields(raw(occurred_at=...)) == ["occurred_at"]


def test_timestamp_within_clock_skew_is_accepted():
    ahead = (NOW + timedelta(minutes=4, seconds=59)).isoformat()
    assert parse_event(raw(occurred_at=ahead), now=NOW).occurred_at > NOW


def test_timestamp_more_than_five_minutes_ahead_is_rejected():
    ahead = (NOW + timedelta(minutes=5, seconds=1)).isoformat()
    assert rejected_fields(raw(occurred_at=ahead)) == ["occurred_at"]


def test_old_timestamps_are_fine():
    assert parse_event(raw(occurred_at="2019-01-01T00:00:00Z"), now=NOW).occurred_at.year == 2019


@pytest.mark.parametrize(
    "contact_id",
    [
        "ann@example.com",  # an e-mail address is PII in a workflow id
        "team/ann",  # '/' is the workflow-id separator
        "+15551234567",  # a phone number is PII
        "has space",
        "",
        "x" * 129,
    ],
)
def test_contact_ids_that_are_not_opaque_are_refused(contact_id):
    assert "contact_id" in rejected_fields(raw(contact_id=contact_id))


def test_contact_id_alphabet_that_is_allowed():
    event = parse_event(raw(contact_id="crm:Contact_42.eu-1"), now=NOW)
    assert event.contact_id == "crm:Contact_42.eu-1"


def test_schema_version_must_be_positive():
    assert "schema_version" in rejected_fields(raw(schema_version=0))
