"""The API's request telemetry, as plain ASGI middleware (the
opentelemetry-instrumentation-fastapi package is not a dependency): a server span per
request, continuing the caller's W3C traceparent if it sent one, a request counter, and
the access log line.

Spans, labels and the access line name the route template (`/v1/contacts/{contact_id}`),
never the path or query as sent: those carry contact ids, addresses and the signed
tokens of preference links. uvicorn's own access log (the raw path and the client's
address) is off for the same reason (cli/main.py)."""

import time

import structlog
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind, Status, StatusCode

from telemetry.metrics import HTTP_REQUESTS

log = structlog.get_logger("dripstone.http")

UNMATCHED = "unmatched"  # 404s: their paths are whatever a caller typed
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestTelemetry:
    def __init__(self, app, tracer: trace.Tracer | None = None):
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status, started = {"code": 500}, time.perf_counter()

        async def sending(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        if self.tracer is None:
            try:
                await self.app(scope, receive, sending)
            finally:
                self._done(scope, status["code"], started)
            return
        method = method_of(scope)
        parent = extract(
            {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        )
        with self.tracer.start_as_current_span(
            f"{method} request",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method},
        ) as span:
            try:
                await self.app(scope, receive, sending)
            finally:
                route = route_of(scope)
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status["code"])
                if status["code"] >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                self._done(scope, status["code"], started)

    @staticmethod
    def _done(scope, code: int, started: float) -> None:
        route, method = route_of(scope), method_of(scope)
        HTTP_REQUESTS.labels(route, method, str(code)).inc()
        log.info(
            "http.request",
            method=method,
            route=route,
            status=code,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )


def route_of(scope) -> str:
    """The matched route's template; Starlette puts the route in the scope once routed."""
    route = scope.get("route")
    return getattr(route, "path_format", None) or getattr(route, "path", None) or UNMATCHED


def method_of(scope) -> str:
    return scope["method"] if scope["method"] in METHODS else "OTHER"
