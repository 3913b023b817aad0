"""Reaching Temporal over mutual TLS with an API key, as a TLS cluster or Temporal Cloud
asks: the dev server behind a TLS-terminating proxy (tests/fakes/tls_proxy.py) that
requires a client certificate signed by its CA. Through the product's one connect
function (codec/client.py), with the DRIPSTONE_TEMPORAL_* settings from the environment:
the CLI enrolls a contact and lists the journey a worker runs over TLS, the API reports
Temporal ready, and the API key reaches the server as `authorization: Bearer ...` on
every call. Without the client certificate, trusting another CA, or in plain text, the
connection is refused and the error names the settings to check."""

import asyncio
from types import SimpleNamespace

import pytest
import pytest_asyncio
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

from api.app import from_environment
from codec.client import TemporalUnreachable, connect
from projections.event_store import ingest
from projections.flow_catalogue import publish
from settings import Settings
from tests.api.http import TestClient
from tests.cli.test_flow_cli import dripstone  # noqa: F401  (the fixture)
from tests.fakes.tls_proxy import Certificates, MutualTlsProxy
from tests.journey_harness import contact, flow_from, journey_worker
from tests.workflows.live_journeys import at_step

pytestmark = pytest.mark.devserver

API_KEY = "tls-test-api-key"
HELD = flow_from(
    {
        "id": "over-tls",
        "trigger": {"event": "form.submitted"},
        "steps": [{"id": "hold", "kind": "wait", "delay": "30d"}],
    }
)


@pytest_asyncio.fixture
async def proxy(dev_server_env, tmp_path):
    host, port = dev_server_env.client.service_client.config.target_host.rsplit(":", 1)
    folder = tmp_path / "tls"
    folder.mkdir()
    async with MutualTlsProxy(Certificates.create(folder), (host, int(port))) as proxy:
        yield proxy


@pytest.fixture
def tls_env(proxy, settings, monkeypatch):
    """The settings a deployment would set, pointing at the proxy; returns a setter."""
    certificates = proxy.certificates

    def set_env(**overrides: str | None) -> None:
        values = {
            "ADDRESS": proxy.address,
            "TLS_CA_PATH": str(certificates.ca.pem.cert),
            "TLS_CERT_PATH": str(certificates.client.cert),
            "TLS_KEY_PATH": str(certificates.client.key),
            # The proxy listens on 127.0.0.1; its certificate is for localhost.
            "TLS_SERVER_NAME": "localhost",
            "API_KEY": API_KEY,
        } | overrides
        for name, value in values.items():
            if value is None:
                monkeypatch.delenv(f"DRIPSTONE_TEMPORAL_{name}", raising=False)
            else:
                monkeypatch.setenv(f"DRIPSTONE_TEMPORAL_{name}", value)

    monkeypatch.setenv("DRIPSTONE_TASK_QUEUE", settings.task_queue)
    set_env()
    return set_env


async def test_a_journey_runs_over_mutual_tls_and_the_api_key_reaches_the_server(
    proxy, tls_env, dripstone, engine, settings
):  # noqa: F811
    client = await connect(Settings(_env_file=None, data_dir=settings.data_dir))
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=client.namespace)
    )
    assert described.namespace_info.name == "default"

    with engine.begin() as conn:
        publish(conn, HELD)
    ingest(engine, contact("tls-1", email="tls-1@example.com"))
    async with journey_worker(client, engine, settings):
        # The CLI makes its own client from the environment, in a thread with its loop.
        enrolled = await asyncio.to_thread(dripstone, "enroll", "over-tls", "tls-1")
        workflow_id = enrolled.stdout.strip().rsplit(" ", 1)[-1]
        await at_step(SimpleNamespace(client=client), workflow_id, "hold")
        listed = await asyncio.to_thread(dripstone, "journeys", "tls-1")
        await client.get_workflow_handle(workflow_id).terminate("test over")

    assert "enrolled contact 'tls-1' in flow 'over-tls'" in enrolled.stdout
    assert workflow_id in listed.stdout and "a delay of 4w2d" in listed.stdout, listed.stdout
    called = {headers[":path"].rsplit("/", 1)[-1] for headers in proxy.headers}
    # The CLI started the journey, the worker polled for it, both through the proxy.
    assert {"StartWorkflowExecution", "PollWorkflowTaskQueue", "DescribeNamespace"} <= called
    assert {headers.get("authorization") for headers in proxy.headers} == {f"Bearer {API_KEY}"}


async def test_the_api_is_ready_through_tls_with_its_settings_from_the_environment(
    proxy, tls_env, engine, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))

    def readyz():
        with TestClient(from_environment()) as api:  # its lifespan connects, lazily
            return api.get("/readyz").json()

    assert (await asyncio.to_thread(readyz))["temporal"] == "ok"
    tls_env(TLS_CA_PATH=str(proxy.certificates.other_ca.pem.cert))
    refused = await asyncio.to_thread(readyz)
    assert refused["status"] == "ready"  # Temporal is only reported: events are still taken in
    assert "UnknownIssuer" in refused["temporal"], refused


async def test_without_the_client_certificate_the_connection_is_refused_naming_the_settings(
    proxy, tls_env, dripstone, settings
):  # noqa: F811
    tls_env(TLS_CERT_PATH=None, TLS_KEY_PATH=None)
    with pytest.raises(TemporalUnreachable) as refused:
        await connect(Settings(_env_file=None, data_dir=settings.data_dir))
    assert f"could not connect to Temporal at {proxy.address} (namespace default) over TLS" in str(
        refused.value
    )
    assert (
        "DRIPSTONE_TEMPORAL_TLS_CERT_PATH=none (a server that requires mutual TLS closes "
        "the connection without one)" in str(refused.value)
    )

    listing = await asyncio.to_thread(dripstone, "journeys", "tls-1", code=1)
    printed = " ".join(listing.stdout.split())  # rich wraps lines at COLUMNS
    assert "DRIPSTONE_TEMPORAL_TLS_CERT_PATH=none" in printed, printed
    assert "DRIPSTONE_TEMPORAL_API_KEY set" in printed
    assert API_KEY not in listing.stdout + listing.stderr


async def test_trusting_another_ca_the_server_is_refused_naming_the_ca_setting(
    proxy, tls_env, dripstone, engine
):  # noqa: F811
    with engine.begin() as conn:
        publish(conn, HELD)
    ingest(engine, contact("tls-1", email="tls-1@example.com"))
    other_ca = str(proxy.certificates.other_ca.pem.cert)
    tls_env(TLS_CA_PATH=other_ca)
    paused = await asyncio.to_thread(dripstone, "journey", "pause", "over-tls", "tls-1", code=2)
    assert f"DRIPSTONE_TEMPORAL_TLS_CA_PATH={other_ca}" in paused.stderr, paused.stderr
    assert "UnknownIssuer" in paused.stderr
    # An enrollment (no handler of its own for this error) exits cleanly too.
    enrolled = await asyncio.to_thread(dripstone, "enroll", "over-tls", "tls-1", code=2)
    assert f"DRIPSTONE_TEMPORAL_TLS_CA_PATH={other_ca}" in enrolled.stderr, enrolled.stderr


async def test_plain_text_to_a_tls_server_says_which_settings_turn_tls_on(proxy, tls_env, settings):
    tls_env(
        TLS_CA_PATH=None, TLS_CERT_PATH=None, TLS_KEY_PATH=None, TLS_SERVER_NAME=None, API_KEY=None
    )
    with pytest.raises(
        TemporalUnreachable,
        match="in plain text .a TLS cluster or Temporal " "Cloud needs DRIPSTONE_TEMPORAL_TLS=true",
    ):
        await connect(Settings(_env_file=None, data_dir=settings.data_dir))
    assert proxy.headers == []  # no handshake, so no request ever got through
