"""Traces leave over OTLP (HTTP, protobuf) when an endpoint is configured: a collector on
loopback receives the API request's span, with the service name, and nothing personal."""

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from telemetry.tracing import tracing_for
from tests.api.v1_harness import async_client, ok


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self):  # noqa: N802 -- the name http.server calls
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Collector.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_args):
        pass


@pytest.fixture
def collector():
    _Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    server.shutdown()
    server.server_close()


async def test_the_request_span_reaches_an_otlp_collector(settings, engine, collector):
    settings = settings.model_copy(
        update={
            "trace_exporter": "otlp",
            "trace_otlp_endpoint": collector,
            "trace_service_name": f"dripstone-{uuid.uuid4().hex[:6]}",
        }
    )
    contact_id = f"otlp-{uuid.uuid4().hex[:8]}"
    async with async_client(settings, engine) as api:
        ok(await api.put(f"/v1/contacts/{contact_id}", json={"email": "otlp@example.com"}))
    assert tracing_for(settings).provider.force_flush(10_000)

    spans, services = [], set()
    for path, content_type, body in _Collector.received:
        assert path == "/v1/traces" and content_type == "application/x-protobuf"
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            services |= {
                a.value.string_value
                for a in resource_spans.resource.attributes
                if a.key == "service.name"
            }
            spans += [s for scope in resource_spans.scope_spans for s in scope.spans]
    assert settings.trace_service_name in services
    assert "PUT /v1/contacts/{contact_id}" in {span.name for span in spans}
    exported = b"".join(body for _, _, body in _Collector.received)
    assert contact_id.encode() not in exported and b"otlp@example.com" not in exported
