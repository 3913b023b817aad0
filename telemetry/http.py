"""The API's request telemetry, as plain ASGI middleware (the
opentelemetry-instrumentation-fastapi package is not a dependency): a server span per
request, continuing the caller's W3C traceparent if it sent one, and a request counter.

Spans and labels name the route template (`/v1/contacts/{contact_id}`), never the path
or query as sent: those can carry contact ids and addresses."""

from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind, Status, StatusCode

from telemetry.metrics import HTTP_REQUESTS

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
        status = {"code": 500}

        async def sending(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        if self.tracer is None:
            try:
                await self.app(scope, receive, sending)
            finally:
                self._count(scope, status["code"])
            return
        method = method_of(scope)
        parent = extract({k.decode("latin-1"): v.decode("latin-1")
                          for k, v in scope.get("headers", [])})
        with self.tracer.start_as_current_span(
                f"{method} request", context=parent, kind=SpanKind.SERVER,
                attributes={"http.request.method": method}) as span:
            try:
                await self.app(scope, receive, sending)
            finally:
                route = route_of(scope)
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status["code"])
                if status["code"] >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                self._count(scope, status["code"])

    @staticmethod
    def _count(scope, code: int) -> None:
        HTTP_REQUESTS.labels(route_of(scope), method_of(scope), str(code)).inc()


def route_of(scope) -> str:
    """The matched route's template; Starlette puts the route in the scope once routed."""
    route = scope.get("route")
    return getattr(route, "path_format", None) or getattr(route, "path", None) or UNMATCHED


def method_of(scope) -> str:
    return scope["method"] if scope["method"] in METHODS else "OTHER"
