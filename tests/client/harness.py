"""Serving the real app to the client in tests: over loopback HTTP with uvicorn in a
thread (the blocking client), or in-process through httpx.ASGITransport (the async one).
Also a transport that injects network faults in front of the real app, to see retries."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client

from api.app import create_app, set_client
from codec.converter import data_converter
from settings import Settings as _Settings

KEY = "client-test-key-0123456789"


def keyed(settings):
    return settings.model_copy(update={"api_keys": [KEY]})


def served_app(settings, engine, temporal: Client | None = None) -> FastAPI:
    """The app as a server runs it. Connected to `temporal`'s server from its own event
    loop (a Temporal client belongs to the loop it was made on), as from_environment does."""
    app = create_app(keyed(settings), engine)
    if temporal is not None:
        target, namespace = temporal.service_client.config.target_host, temporal.namespace

        @asynccontextmanager
        async def lifespan(app: FastAPI):
            set_client(
                app,
                await Client.connect(
                    target, namespace=namespace, data_converter=data_converter(_Settings())
                ),
            )
            yield

        app.router.lifespan_context = lifespan
    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """uvicorn on a free loopback port in a thread; its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def asgi(app: FastAPI) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=app)


class Faults(httpx.AsyncBaseTransport):
    """Wraps the real app's transport; each queued fault spoils one request, in order:
    "refused" (never reaches the app), "lost" (the app handles it, the answer is lost),
    or an HTTP status the app never sees (e.g. 503 from a proxy). Records every body."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *faults: str | int):
        self.inner = inner
        self.faults = list(faults)
        self.bodies: list[Any] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.bodies.append(request.content)
        fault = self.faults.pop(0) if self.faults else None
        if fault == "refused":
            raise httpx.ConnectError("connection refused (injected)", request=request)
        if isinstance(fault, int):
            return httpx.Response(fault, json={"detail": "injected"}, request=request)
        response = await self.inner.handle_async_request(request)
        if fault == "lost":
            await response.aread()
            raise httpx.ReadError(
                "connection dropped before the answer (injected)", request=request
            )
        return response
