"""Liveness and readiness probes, against the real database and Temporal test server:
the API's /healthz and /readyz (no API key; ready means the database answers at this
release's schema, Temporal only reported) and the worker's, from its own thread."""

import asyncio
import socket

import httpx
from temporalio.client import Client

from api.app import create_app
from codec.converter import data_converter
from health.server import HealthServer, probes
from projections.database import make_engine
from settings import Settings
from tests.api.http import TestClient


def test_the_api_is_alive_and_ready_without_a_key_and_without_temporal(settings, engine):
    with TestClient(create_app(settings, engine)) as api:
        assert api.get("/healthz").json() == {"status": "ok"}
        ready = api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "temporal": "not configured"}


async def test_temporal_down_is_reported_but_keeps_the_api_in_service(settings, engine):
    down = await Client.connect("127.0.0.1:1", lazy=True, data_converter=data_converter(Settings()))
    transport = httpx.ASGITransport(app=create_app(settings, engine, down))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
        ready = await api.get("/readyz")
    assert ready.status_code == 200, ready.text
    # One line naming the address, not the SDK's Rust transport error (that goes to the log).
    assert ready.json() == {
        "status": "ready",
        "database": "ok",
        "temporal": "Temporal at 127.0.0.1:1 unreachable: ConnectionRefused",
    }


def test_a_database_behind_this_release_makes_the_api_not_ready(settings, tmp_path, engine):
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with TestClient(create_app(settings, engine)) as api:
        api.app.state.engine = unmigrated
        ready = api.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "not ready"
    assert "migrate" in ready.json()["database"], ready.json()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_workers_probes_follow_its_worker_database_and_temporal(
    time_skipping_env, engine
):
    running = {"value": True}
    port = free_port()
    server = HealthServer(
        probes(
            engine, time_skipping_env.client, asyncio.get_running_loop(), lambda: running["value"]
        ),
        port,
        host="127.0.0.1",
    )
    server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as probe:
            for _ in range(100):  # uvicorn binds in its thread
                try:
                    alive = await probe.get("/healthz")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            ready = await probe.get("/readyz")
            running["value"] = False
            stopped = await probe.get("/healthz")
    finally:
        server.stop()
    assert alive.status_code == 200
    assert (ready.status_code, ready.json()) == (
        200,
        {"status": "ready", "worker": "running", "database": "ok", "temporal": "ok"},
    )
    assert stopped.status_code == 503
