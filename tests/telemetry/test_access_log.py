"""The API's access line names the route template, never the path as sent: a preference
link's signed token, a contact id or an address in a path stays out of the logs. httpx
and uvicorn's own access lines (full URLs, client addresses) stay below the log level."""

import io
import json
import logging

import pytest
import structlog

from settings import Settings
from telemetry.logs import configure_logging
from tests.api.v1_harness import async_client


@pytest.fixture
def json_lines():
    stream = io.StringIO()
    configure_logging(Settings(_env_file=None, log_format="json"), stream=stream)
    yield stream
    structlog.reset_defaults()


async def test_the_access_line_has_the_route_and_not_the_token(settings, engine, json_lines):
    token = "gAAAAABsecret-token-of-one-contact"
    async with async_client(settings, engine) as api:
        await api.get(f"/preferences/{token}")
        await api.get("/v1/contacts/ana@example.com")
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines() if line]
    access = [line for line in lines if line.get("event") == "http.request"]
    assert {(a["method"], a["route"]) for a in access} >= {
        ("GET", "/preferences/{token}"),
        ("GET", "/v1/contacts/{contact_id}"),
    }
    assert all(isinstance(a["status"], int) and a["ms"] >= 0 for a in access)
    assert token not in json_lines.getvalue() and "ana@example.com" not in json_lines.getvalue()


def test_full_urls_and_client_addresses_stay_below_the_level(json_lines):
    for name in ("httpx", "httpcore", "uvicorn.access"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
