"""The worker `bench.enrollment` measures: the production worker (worker.build_worker
with its activities) and, beside it, the dispatcher `python -m worker` runs, so the
events journeys and activities write (message.sent, tag changes) are routed as in a
deployment, for both the journeys and the bare workflow they are compared with."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine
from temporalio.client import Client

import worker as production
from routing.dispatch import Dispatcher
from routing.router import Router
from settings import Settings


@asynccontextmanager
async def production_worker(
    client: Client, settings: Settings, engine: Engine, extra_workflows: tuple = ()
) -> AsyncIterator[Router]:
    """Runs the worker and its dispatcher; yields a router of its own for the bench's
    enrollments (as an API process would enroll, apart from the worker's dispatcher)."""
    dispatcher = Dispatcher.from_settings(
        settings,
        engine,
        Router(client, engine, settings.task_queue, local_sends=settings.local_sends),
    )
    worker = production.build_worker(
        client,
        settings,
        production.activities_for(settings, engine, client),
        extra_workflows=extra_workflows,
    )
    stop = asyncio.Event()
    async with worker:
        routing = asyncio.create_task(dispatcher.run(stop))
        try:
            yield Router(client, engine, settings.task_queue, local_sends=settings.local_sends)
        finally:
            stop.set()
            await routing
