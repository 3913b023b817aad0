"""The HTTP app: create_app(settings, engine, client) builds it from what the caller
already has (tests, the worker process, a server); `from_environment` is the factory
for `uvicorn --factory api.app:from_environment`.

Two kinds of routes: /v1 (events, contacts, flows, enrollments, journeys, operations,
dispatch) and the OpenAPI schema need an API key; /webhooks are called by SendGrid and
Twilio, which cannot send our key, so they are verified by the providers' signatures
instead."""

import asyncio
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine
from temporalio.client import Client

from activities.scripts import registered_names
from api import (
    audience,
    codec_server,
    contact_history,
    contacts,
    dispatch,
    enrollments,
    errors,
    events,
    experiments,
    flow_lifecycle,
    flow_stats,
    flows,
    health,
    journeys,
    mailings,
    metrics,
    migrations,
    operations,
    preferences,
    provider_webhooks,
    simulate,
)
from api.auth import require_api_key
from api.signatures import sendgrid_verifier
from codec.converter import codec_for
from console import mount as mount_console
from routing.breaker import Breaker
from routing.dispatch import Dispatcher
from routing.router import Router
from settings import Settings
from telemetry.http import RequestTelemetry
from telemetry.logs import configure_logging
from telemetry.tracing import tracing_for

V1_ROUTERS: list[APIRouter] = [
    events.router,
    contacts.router,
    contact_history.router,
    journeys.router,
    flows.router,
    flow_lifecycle.router,
    enrollments.router,
    audience.router,
    operations.router,
    dispatch.router,
    mailings.router,
    migrations.router,
    flow_stats.router,
    experiments.router,
    simulate.router,
]

# FastAPI's own OpenTelemetry spans record the raw path and query and its logs the
# validation messages, which carry contact ids and addresses; telemetry/http.py traces
# requests by route template instead (and one server span per request, not two).
NO_NATIVE_TELEMETRY = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


def create_app(settings: Settings, engine: Engine, client: Client | None = None) -> FastAPI:
    """Without a Temporal client, events are stored and projected but not routed to
    journeys (conditions still see them; waiting journeys are not woken), and routes
    that need Temporal (manual enrollment, journey control, operations, backfills)
    answer 503; a contact's journeys are still listed, from the journey index."""
    app = FastAPI(
        title="Dripstone",
        summary="Durable drip campaigns on Temporal",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        telemetry=NO_NATIVE_TELEMETRY,
    )
    configure(app, settings, engine, client)
    errors.install(app)
    keyed = [Depends(require_api_key)]
    for router in V1_ROUTERS:
        app.include_router(router, dependencies=keyed, responses=errors.responses(401, 422))
    app.include_router(provider_webhooks.router)
    app.include_router(health.router)  # unkeyed: the orchestrator's probes
    if settings.api_metrics:
        app.include_router(metrics.router)  # unkeyed: Prometheus sends no key
    app.include_router(preferences.router)  # unkeyed: the signed link is the right
    mount_console(app)  # its pages take the API key, or a session made from it
    # Keyed by its own keys (DRIPSTONE_CODEC_API_KEYS), not the /v1 ones: see codec_server.
    app.include_router(
        codec_server.router,
        responses={
            **errors.responses(401, 422),
            403: {
                "model": errors.Refusal,
                "description": "The codec server is off (no "
                "DRIPSTONE_CODEC_API_KEYS), or the key is a /v1 key, not a codec key.",
            },
        },
    )
    # The Temporal Web UI calls the codec server from its own origin.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.codec_cors_origins,
        allow_credentials=True,
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace", "X-API-Key"],
    )
    # Outermost: a request's span covers everything below it, and with tracing on, the
    # journeys it starts or signals continue its trace.
    tracing = tracing_for(settings)
    app.add_middleware(RequestTelemetry, tracer=tracing.tracer if tracing else None)

    @app.get("/openapi.json", include_in_schema=False, dependencies=keyed)
    def openapi() -> dict:
        return app.openapi()

    return app


def configure(app: FastAPI, settings: Settings, engine: Engine, client: Client | None) -> None:
    app.state.settings = settings
    app.state.codec = codec_for(settings)
    app.state.engine = engine
    # Loaded once: validation names the run_script steps no worker could run.
    app.state.known_scripts = registered_names(settings.scripts_module)
    set_client(app, client)
    # Parsed once, so a bad key fails here rather than on every webhook.
    app.state.sendgrid_verifier = sendgrid_verifier(settings.sendgrid_webhook_public_key)


def set_client(app: FastAPI, client: Client | None) -> None:
    app.state.client = client
    settings = app.state.settings
    app.state.router = (
        Router(
            client,
            app.state.engine,
            settings.task_queue,
            local_sends=settings.local_sends,
            breaker=Breaker(settings.routing_breaker_seconds),
            flow_cache_size=settings.live_flows_cache_size,
        )
        if client is not None
        else None
    )


def from_environment() -> FastAPI:
    from worker import connect, open_database

    settings = Settings()
    configure_logging(settings)
    # Checks the schema revision, never migrates: SchemaBehind / SchemaUnknown stop the
    # process here, before it serves anything (`dripstone db migrate` brings it up).
    engine = open_database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Lazy: the API starts, and takes events in, while Temporal is down; this
        # process's dispatcher routes them once it answers.
        set_client(app, await connect(settings, lazy=True, sdk_metrics=True))
        stop = asyncio.Event()
        retries = asyncio.create_task(
            Dispatcher.from_settings(settings, engine, app.state.router).run(stop)
        )
        try:
            yield
        finally:
            stop.set()
            await retries
            engine.dispose()

    app = create_app(settings, engine)
    app.router.lifespan_context = lifespan
    return app
