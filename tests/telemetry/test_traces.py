"""One trace from the API request to the journey's activities: spans exported in memory
from a real journey on the time-skipping server share the request's trace id, and the
JSON log lines written inside them carry it."""

import io
import json
import logging
import uuid

import pytest
import structlog
from temporalio.client import Client

from settings import Settings
from telemetry.logs import configure_logging
from telemetry.tracing import client_interceptors, tracing_for
from tests.api.v1_harness import async_client, form_flow, ok
from tests.journey_harness import journey_result, journey_worker


@pytest.fixture
def json_logs():
    """JSON log lines into a buffer, and the defaults back afterwards."""
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging(Settings(_env_file=None, log_format="json"), stream=stream)
    yield stream
    structlog.reset_defaults()
    root.handlers, root.level = handlers, level


async def test_the_api_request_the_workflow_and_its_activities_share_one_trace(
    time_skipping_env, engine, settings, json_logs
):
    env = time_skipping_env
    traced = settings.model_copy(update={"trace_exporter": "memory"})
    tracing = tracing_for(traced)
    tracing.exporter.clear()
    # The client a traced process connects with (codec.client.connect): same server,
    # plus the tracing interceptor, which the worker built on it takes up too.
    client = Client(**{**env.client.config(), "interceptors": client_interceptors(traced)})
    flow_id, contact_id = f"traced-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    async with journey_worker(client, engine, traced), async_client(traced, engine, client) as api:
        ok(await api.put(f"/v1/contacts/{contact_id}", json={"email": "traced@example.com"}))
        ok(await api.post("/v1/flows", json=form_flow(flow_id)), 201)
        ok(await api.post(f"/v1/flows/{flow_id}/publish"))
        tracing.exporter.clear()
        ok(
            await api.post(
                "/v1/events",
                json={
                    "type": "form.submitted",
                    "contact_id": contact_id,
                    "payload": {"form_id": "newsletter"},
                },
            ),
            202,
        )
        await journey_result(env, f"journey/{flow_id}/{contact_id}")
    tracing.provider.force_flush()
    spans = tracing.exporter.get_finished_spans()
    [request] = [s for s in spans if s.name == "POST /v1/events"]
    trace_id = request.context.trace_id
    in_trace = {s.name for s in spans if s.context.trace_id == trace_id}
    assert {
        "SignalWithStartWorkflow:JourneyWorkflow",
        "RunWorkflow:JourneyWorkflow",
        "StartActivity:send_email",
        "RunActivity:send_email",
    } <= in_trace, in_trace
    assert request.parent is None and request.attributes["http.route"] == "/v1/events"
    # Nothing personal in any span: the route template, not the path; no address.
    assert not any("traced@example.com" in str(s.attributes) for s in spans)

    lines = [json.loads(line) for line in json_logs.getvalue().splitlines() if line]
    sent = [line for line in lines if line.get("event") == "message.outboxed"]
    assert sent and sent[0]["trace_id"] == format(trace_id, "032x"), lines
    assert len(sent[0]["span_id"]) == 16


def test_otlp_needs_an_endpoint():
    with pytest.raises(ValueError, match="DRIPSTONE_TRACE_OTLP_ENDPOINT is required"):
        Settings(_env_file=None, trace_exporter="otlp")
    with pytest.raises(ValueError, match="trace_exporter"):
        Settings(_env_file=None, trace_exporter="jaeger")


def test_tracing_is_off_by_default():
    assert tracing_for(Settings(_env_file=None)) is None
    assert client_interceptors(Settings(_env_file=None)) == []
