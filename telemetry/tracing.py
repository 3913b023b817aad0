"""OpenTelemetry traces: one span tree from an API request through routing, the journey
workflow and its activities.

Temporal's TracingInterceptor, given to the client, makes a span for every start and
signal and carries the context in the workflow's headers; the worker (built on a client
that has it) continues it in workflow and activity spans. The API's middleware
(telemetry/http.py) opens the request's span, so the whole path shares one trace id.

The tracer is handed to the interceptor and the middleware explicitly rather than read
from OpenTelemetry's global provider, which can be set only once per process: tests run
several set-ups in one process. The global provider is set too (once), for code of the
user's own (scripts) that asks OpenTelemetry for a tracer."""

import sys
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.contrib.opentelemetry import TracingInterceptor


@dataclass(frozen=True)
class Tracing:
    provider: TracerProvider
    exporter: SpanExporter

    @property
    def tracer(self) -> trace.Tracer:
        return self.provider.get_tracer("dripstone")

    def interceptor(self) -> TracingInterceptor:
        return TracingInterceptor(self.tracer)


# One provider per exporter set-up and process: every client, worker and API app of the
# process shares it (and a "memory" exporter's spans can be read back from it).
_made: dict[tuple, Tracing] = {}
_global_set = False


def tracing_for(settings) -> Tracing | None:
    """None when tracing is off (trace_exporter=none, the default)."""
    if settings.trace_exporter == "none":
        return None
    key = (settings.trace_exporter, settings.trace_otlp_endpoint, settings.trace_service_name)
    if key not in _made:
        _made[key] = _make(settings)
        _set_global(_made[key].provider)
    return _made[key]


def client_interceptors(settings) -> list:
    tracing = tracing_for(settings)
    return [tracing.interceptor()] if tracing is not None else []


def _make(settings) -> Tracing:
    exporter = _exporter(settings)
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.trace_service_name})
    )
    # Spans kept in memory are read by whoever asked for them (tests): at once. The
    # others leave in batches, off the request's and the activity's path.
    processor = (
        SimpleSpanProcessor(exporter)
        if isinstance(exporter, InMemorySpanExporter)
        else BatchSpanProcessor(exporter)
    )
    provider.add_span_processor(processor)
    return Tracing(provider, exporter)


def _exporter(settings) -> SpanExporter:
    if settings.trace_exporter == "console":
        # stderr: stdout carries the log lines, one JSON object each in production.
        return ConsoleSpanExporter(out=sys.stderr)
    if settings.trace_exporter == "memory":
        return InMemorySpanExporter()
    # OTLP over HTTP/protobuf: what collectors, Jaeger, Tempo and vendors all take.
    return OTLPSpanExporter(endpoint=settings.trace_otlp_endpoint)


def _set_global(provider: TracerProvider) -> None:
    global _global_set
    if not _global_set:
        trace.set_tracer_provider(provider)
        _global_set = True


def shutdown() -> None:
    """Flush batched spans before the process exits."""
    for tracing in _made.values():
        tracing.provider.force_flush()
