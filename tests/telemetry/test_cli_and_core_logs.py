"""Log lines follow DRIPSTONE_LOG_FORMAT in the CLI too (JSON in production), on stderr:
a command's stdout is its output. The Temporal SDK core's own lines (its Rust part, which
otherwise prints straight to the process's stdout) go through the same logging: JSON in
JSON mode, wherever the process's lines go."""

import asyncio
import io
import json
import uuid

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from projections.flow_catalogue import publish
from settings import Settings
from telemetry.logs import configure_logging
from tests.cli.invoke import dripstone_run
from tests.journey_harness import flow_from

# Only so a broken test fails instead of hanging; never reached when it passes.
HANG_GUARD_SECONDS = 60


@pytest.fixture
def unreachable_temporal(engine, tmp_path, monkeypatch):
    """A live flow, and a Temporal that refuses connections: `event send` stores the
    event and the dispatch logs that it deferred it."""
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DRIPSTONE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DRIPSTONE_TEMPORAL_ADDRESS", "127.0.0.1:1")
    with engine.begin() as conn:
        publish(
            conn,
            flow_from({"id": "logged", "steps": [{"id": "bye", "kind": "exit", "reason": "done"}]}),
        )


def send_event():
    return dripstone_run(
        "event",
        "send",
        "--type",
        "form.submitted",
        "--contact",
        "c-log",
        "--payload",
        '{"form_id": "signup"}',
        "--id",
        "ev-log-1",
    )


def test_cli_logs_are_json_lines_on_stderr_in_json_mode(unreachable_temporal, monkeypatch):
    monkeypatch.setenv("DRIPSTONE_LOG_FORMAT", "json")
    result = send_event()
    assert result.stdout.startswith("event ev-log-1 stored; no journey reached yet")
    assert "dispatch.deferred" not in result.stdout
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    deferred = [line for line in lines if line["event"] == "dispatch.deferred"]
    assert deferred and deferred[0]["level"] == "warning" and deferred[0]["events"] == 1


def test_cli_logs_stay_readable_on_stderr_in_console_mode(unreachable_temporal, monkeypatch):
    monkeypatch.setenv("DRIPSTONE_LOG_FORMAT", "console")
    result = send_event()
    assert "dispatch.deferred" not in result.stdout
    assert "dispatch.deferred" in result.stderr
    assert not result.stderr.lstrip().startswith("{")


@activity.defn
async def nothing() -> None:
    """A worker with activities is what makes the core warn about the test server."""


async def test_the_sdk_cores_lines_are_json_through_our_logging(time_skipping_env, capfd):
    stream = io.StringIO()
    configure_logging(Settings(_env_file=None, log_format="json"), stream=stream)
    # A client made now takes the default runtime, which forwards the core's lines.
    client = await Client.connect(time_skipping_env.client.service_client.config.target_host)
    async with Worker(client, task_queue=f"core-logs-{uuid.uuid4()}", activities=[nothing]):
        # The core forwards its lines in batches, a few milliseconds apart.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HANG_GUARD_SECONDS
        while "1.16.0" not in stream.getvalue() and loop.time() < deadline:
            await asyncio.sleep(0.05)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    core = [line for line in lines if line.get("logger") == "temporalio.core"]
    assert any(
        "Temporal Server 1.16.0 or newer" in line["event"] and line["level"] == "warning"
        for line in core
    ), lines
    # Nothing of the core's is printed beside the process's own output.
    assert "1.16.0" not in capfd.readouterr().out
