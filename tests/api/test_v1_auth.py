"""Every /v1 route and the OpenAPI schema need an API key; provider webhooks do not
(they are verified by signature). The schema lists every route."""

import importlib.util

import pytest

from api.app import create_app
from tests.api.http import TestClient
from tests.api.v1_harness import AUTH, KEY, OTHER_KEY, keyed, ok

# One request per route; the bodies are valid so that only the key decides.
ROUTES = [
    ("POST", "/v1/events", {"type": "custom", "contact_id": "c1", "payload": {"name": "x"}}),
    (
        "POST",
        "/v1/events/batch",
        {"events": [{"type": "custom", "contact_id": "c1", "payload": {"name": "x"}}]},
    ),
    ("PUT", "/v1/contacts/c1", {"email": "c1@example.com"}),
    ("GET", "/v1/contacts/c1", None),
    ("GET", "/v1/contacts/c1/journeys", None),
    ("GET", "/v1/flows", None),
    ("POST", "/v1/flows/validate", {"id": "f"}),
    ("POST", "/v1/flows", {"id": "f"}),
    ("GET", "/v1/flows/f", None),
    ("POST", "/v1/flows/f/publish", {}),
    ("POST", "/v1/flows/f/pause", None),
    ("POST", "/v1/flows/f/resume", None),
    ("POST", "/v1/flows/f/archive", None),
    ("GET", "/v1/flows/f/versions", None),
    ("GET", "/v1/flows/f/versions/1", None),
    ("POST", "/v1/flows/f/enrollments", {"contact_id": "c1"}),
    ("POST", "/v1/contacts/c1/journeys/stop", {"reason": "r"}),
    ("POST", "/v1/contacts/c1/journeys/f/stop", None),
    ("GET", "/v1/operations/op", None),
    ("GET", "/v1/dispatch", None),
    ("GET", "/v1/dispatch/dead-letters", None),
    ("POST", "/v1/dispatch/dead-letters/e1/retry", None),
    ("POST", "/v1/dispatch/dead-letters/e1/skip", None),
    ("GET", "/openapi.json", None),
]
BACKFILL_ROUTES = [
    ("GET", "/v1/flows/f/audience", None),
    ("POST", "/v1/flows/f/backfill", {}),
    ("GET", "/v1/flows/f/backfill", None),
]


@pytest.fixture
def app(settings, engine):
    return create_app(keyed(settings), engine)


def _all_routes(app):
    """The audience and backfill routes come with api/audience.py (written separately)."""
    return ROUTES + (BACKFILL_ROUTES if importlib.util.find_spec("api.audience") else [])


def _template(path: str) -> str:
    names = {
        "f": "{flow_id}",
        "c1": "{contact_id}",
        "1": "{version}",
        "stop": "{action}",
        "op": "{workflow_id}",
        "e1": "{event_id}",
    }
    return "/".join(names.get(part, part) for part in path.split("/"))


@pytest.mark.parametrize(
    "headers, refusal",
    [
        ({}, "missing API key"),
        ({"Authorization": "Bearer wrong-key"}, "invalid API key"),
        ({"X-API-Key": "wrong-key"}, "invalid API key"),
        ({"Authorization": f"Basic {KEY}"}, "missing API key"),  # the right key, wrong scheme
        ({"Authorization": "Bearer "}, "missing API key"),
        ({"X-API-Key": KEY[:-1]}, "invalid API key"),
    ],
    ids=["none", "wrong-bearer", "wrong-header", "basic-scheme", "empty-bearer", "prefix"],
)
def test_every_v1_route_and_the_schema_refuse_a_missing_or_wrong_key(app, engine, headers, refusal):
    with TestClient(app) as client:
        for method, path, body in _all_routes(app):
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["detail"].startswith(refusal), (method, path)
    # Nothing got through: no event stored, no flow saved.
    with TestClient(create_app(keyed(app.state.settings), engine), headers=AUTH) as client:
        assert ok(client.get("/v1/flows")) == {"flows": []}
        assert client.get("/v1/contacts/c1").status_code == 404


def test_missing_and_wrong_keys_are_told_apart(app):
    with TestClient(app) as client:
        missing = client.get("/v1/flows")
        wrong = client.get("/v1/flows", headers={"X-API-Key": "nope"})
    assert missing.json()["detail"].startswith("missing API key")
    assert wrong.json()["detail"] == "invalid API key"


def test_an_unparseable_body_without_a_key_is_refused_as_unauthorized(app):
    with TestClient(app) as client:
        response = client.post(
            "/v1/events", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        keyed_response = client.post(
            "/v1/events", content=b"{not json", headers={**AUTH, "Content-Type": "application/json"}
        )
    assert response.status_code == 401
    assert keyed_response.status_code == 422
    assert keyed_response.json()["detail"][0]["loc"] == "body"


def test_either_header_and_every_configured_key_is_accepted(app):
    with TestClient(app) as client:
        for headers in (
            {"Authorization": f"Bearer {KEY}"},
            {"authorization": f"bearer {KEY}"},
            {"X-API-Key": KEY},
            {"X-API-Key": OTHER_KEY},
        ):
            assert client.get("/v1/flows", headers=headers).status_code == 200, headers


def test_with_no_keys_configured_every_request_is_refused(settings, engine):
    with TestClient(create_app(settings.model_copy(update={"api_keys": []}), engine)) as client:
        response = client.get("/v1/flows", headers={"X-API-Key": ""})
        keyed_response = client.get("/v1/flows", headers=AUTH)
    assert response.status_code == keyed_response.status_code == 401
    assert "has no API keys configured" in keyed_response.json()["detail"]


def test_provider_webhooks_do_not_ask_for_the_key(app):
    with TestClient(app) as client:
        # Refused for its missing signature (403) or unconfigured verifier (503), not 401.
        response = client.post("/webhooks/sendgrid/events", content=b"[]")
    assert response.status_code in (403, 503), response.text


def test_the_docs_pages_are_off(app):
    with TestClient(app, headers=AUTH) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/redoc").status_code == 404


def test_the_openapi_schema_lists_every_route_with_its_security(app):
    with TestClient(app, headers=AUTH) as client:
        schema = ok(client.get("/openapi.json"))
    listed = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    expected = {
        (method, _template(path)) for method, path, _ in _all_routes(app) if path != "/openapi.json"
    }
    assert expected <= listed, expected - listed
    for method, path in expected:
        operation = schema["paths"][path][method.lower()]
        assert operation["security"] == [{"HTTPBearer": []}, {"APIKeyHeader": []}], path
        assert operation.get("summary"), path
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schema["components"]["securitySchemes"])
    # The webhooks are listed without the key.
    assert "security" not in schema["paths"]["/webhooks/sendgrid/events"]["post"]
    # Request and response models are described.
    event = schema["components"]["schemas"]["EventIn"]["properties"]
    assert (
        "idempotent" in event["event_id"]["description"]
        or "no-op" in event["event_id"]["description"]
    )
    assert (
        schema["paths"]["/v1/flows"]["post"]["requestBody"]["content"]["application/json"][
            "schema"
        ]["$ref"]
        == "#/components/schemas/Flow"
    )
