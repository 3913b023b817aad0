"""The HTTP app: create_app(settings, engine, client) builds it from what the caller
already has (tests, the worker process, a server); `from_environment` is the factory
for `uvicorn --factory api.app:from_environment`."""

from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.client import Client

from api import provider_webhooks
from api.signatures import sendgrid_verifier
from routing.router import Router
from settings import Settings


def create_app(settings: Settings, engine: Engine, client: Client | None = None) -> FastAPI:
    """Without a Temporal client, webhook events are stored and projected but not routed
    to journeys (conditions still see them; waiting journeys are not woken)."""
    app = FastAPI(title="Dripstone", summary="Durable drip campaigns on Temporal")
    configure(app, settings, engine, client)
    app.include_router(provider_webhooks.router)
    return app


def configure(app: FastAPI, settings: Settings, engine: Engine, client: Client | None) -> None:
    app.state.settings = settings
    app.state.engine = engine
    app.state.router = Router(client, engine, settings.task_queue) if client is not None else None
    # Parsed once, so a bad key fails here rather than on every webhook.
    app.state.sendgrid_verifier = sendgrid_verifier(settings.sendgrid_webhook_public_key)


def from_environment() -> FastAPI:
    from worker import connect, open_database

    settings = Settings()
    engine = open_database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.router = Router(await connect(settings), engine, settings.task_queue)
        yield
        engine.dispose()

    app = create_app(settings, engine)
    app.router.lifespan_context = lifespan
    return app
