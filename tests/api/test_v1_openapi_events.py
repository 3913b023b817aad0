"""/openapi.json documents every event type's payload: the body of POST /v1/events and
each item of a batch is a oneOf discriminated on `type`, generated from PAYLOAD_SCHEMAS."""

import pytest

from domain.payload_schemas import PAYLOAD_SCHEMAS
from tests.api.v1_harness import ok, sync_client

REF = "#/components/schemas/"


@pytest.fixture
def schema(settings, engine):
    with sync_client(settings, engine) as client:
        return ok(client.get("/openapi.json"))


def body_schema(schema: dict, path: str) -> dict:
    return schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].removeprefix(REF)]
    return node


def payload_of(schema: dict, union: dict, event_type: str) -> tuple[dict, dict]:
    """(the type's own schema, its payload's schema), found through the mapping."""
    variant = resolve(schema, {"$ref": union["discriminator"]["mapping"][event_type]})
    [envelope, own] = variant["allOf"]
    assert resolve(schema, envelope)["properties"]["contact_id"]  # the shared envelope
    assert own["properties"]["type"]["const"] == event_type
    return own, resolve(schema, own["properties"]["payload"])


def test_single_and_batch_bodies_are_discriminated_on_type(schema):
    single = body_schema(schema, "/v1/events")
    batch = resolve(schema, body_schema(schema, "/v1/events/batch"))["properties"]["events"]
    for key in ("oneOf", "discriminator"):
        assert batch["items"][key] == single[key]
    assert single["discriminator"]["propertyName"] == "type"
    assert set(single["discriminator"]["mapping"]) == set(PAYLOAD_SCHEMAS)
    assert sorted(v["$ref"] for v in single["oneOf"]) == sorted(
        single["discriminator"]["mapping"].values()
    )


@pytest.mark.parametrize(
    "event_type, required, payload_required",
    [
        ("form.submitted", ["form_id"], True),
        ("contact.created", [], False),
        ("sms.received", ["body"], True),
        ("custom", ["name"], True),
    ],
)
def test_each_type_shows_its_payload_and_required_fields(
    schema, event_type, required, payload_required
):
    own, payload = payload_of(schema, body_schema(schema, "/v1/events"), event_type)
    assert payload.get("required", []) == required
    assert payload["additionalProperties"] is False  # unknown fields are refused
    assert ("payload" in own["required"]) is payload_required


def test_field_limits_and_descriptions_come_from_the_models(schema):
    union = body_schema(schema, "/v1/events")
    _, activity = payload_of(schema, union, "crm_activity.created")
    assert activity["properties"]["title"]["maxLength"] == 300
    assert activity["properties"]["assignee"]["description"] == "None: unassigned"
    variant = resolve(schema, {"$ref": union["discriminator"]["mapping"]["email.clicked"]})
    assert "SendGrid" in variant["description"]
