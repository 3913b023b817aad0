"""Calling the /v1 API in tests: the app built as a server builds it, a key it accepts,
and clients that send it. Requests go through the real ASGI app (no network); the
database and Temporal servers are the real ones from tests/conftest.py."""

from contextlib import asynccontextmanager
from typing import Any

import httpx

from api.app import create_app
from tests.api.http import TestClient

KEY = "test-key-0123456789"
OTHER_KEY = "second-key-abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}


def keyed(settings):
    return settings.model_copy(update={"api_keys": [OTHER_KEY, KEY]})


def sync_client(settings, engine) -> TestClient:
    """For routes that need no Temporal: TestClient runs the app on a loop of its own."""
    return TestClient(create_app(keyed(settings), engine), headers=AUTH)


@asynccontextmanager
async def async_client(settings, engine, temporal=None):
    """On the test's own event loop, which the Temporal client is bound to."""
    app = create_app(keyed(settings), engine, temporal)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://dripstone.test", headers=AUTH
    ) as client:
        yield client


def form_flow(flow_id: str, form_id: str = "newsletter", **extra: Any) -> dict[str, Any]:
    """A flow document as a service would send it: triggered by one form, one email."""
    return {
        "id": flow_id,
        "name": f"Flow {flow_id}",
        "trigger": {"event": "form.submitted", "where": [{"path": "form_id", "value": form_id}]},
        "steps": [
            {"id": "hello", "kind": "send_email", "subject": f"Hello from {flow_id}", "body": "Hi."}
        ],
        **extra,
    }


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()
