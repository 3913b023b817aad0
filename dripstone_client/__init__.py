"""A small Python client for Dripstone's v1 HTTP API.

    from dripstone_client import Dripstone
    with Dripstone("http://localhost:8000", api_key) as dripstone:
        dripstone.send_event("form.submitted", "c-42", {"form_id": "signup"})

AsyncDripstone has the same methods, awaited."""

from dripstone_client.calls import BATCH_LIMIT, RetryPolicy
from dripstone_client.client import AsyncDripstone, Dripstone
from dripstone_client.errors import (
    AuthenticationError,
    Conflict,
    ConnectionFailed,
    DripstoneError,
    NotFound,
    ServerError,
    ValidationFailed,
)

__all__ = [
    "AsyncDripstone",
    "AuthenticationError",
    "BATCH_LIMIT",
    "Conflict",
    "ConnectionFailed",
    "Dripstone",
    "DripstoneError",
    "NotFound",
    "RetryPolicy",
    "ServerError",
    "ValidationFailed",
]
