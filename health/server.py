"""The worker's probes: GET /healthz (its worker is running) and GET /readyz (and it can
reach the database and Temporal), and its Prometheus GET /metrics, on
DRIPSTONE_WORKER_HEALTH_PORT.

Served by uvicorn from a thread of its own, so the probes answer even while the worker's
event loop is busy, and uvicorn's signal handling (main thread only) stays out of the
worker's graceful shutdown. The Temporal check runs on the worker's loop, where its
client lives."""

import asyncio
import threading
from collections.abc import Callable

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.client import Client

from health import checks
from telemetry.state_metrics import exposition


def probes(
    engine: Engine, client: Client, loop: asyncio.AbstractEventLoop, running: Callable[[], bool]
) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        alive = running()
        return JSONResponse(
            {"status": "ok" if alive else "worker stopped"}, status_code=200 if alive else 503
        )

    async def readyz(_: Request) -> JSONResponse:
        database = await checks.database(engine)
        future = asyncio.run_coroutine_threadsafe(checks.temporal(client), loop)
        temporal = await asyncio.wrap_future(future)
        ready = running() and database is None and temporal is None
        return JSONResponse(
            {
                "status": "ready" if ready else "not ready",
                "worker": "running" if running() else "stopped",
                "database": database or "ok",
                "temporal": temporal or "ok",
            },
            status_code=200 if ready else 503,
        )

    async def metrics(_: Request) -> Response:
        body = await asyncio.to_thread(exposition, engine)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
    )


class HealthServer:
    def __init__(self, app: Starlette, port: int, host: str = "0.0.0.0"):
        self.server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, name="health", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
