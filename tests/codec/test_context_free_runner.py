"""The worker's runner answers the serialization-context question outside the sandbox only
when the converter cannot tell the answers apart, and workflows stay in the sandbox."""

import dataclasses
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio import workflow
from temporalio.client import WorkflowFailureError
from temporalio.converter import DataConverter, PayloadCodec, WithSerializationContext
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from codec.context_free_runner import ContextFreeRunner, reads_no_context, runner_for
from codec.converter import data_converter
from codec.keys import new_key
from settings import Settings
from tests.codec.sandbox_workflows import Breakpoint, RoundTrip, SandboxBreach, echo
from worker import workflow_runner


class ContextReadingCodec(PayloadCodec, WithSerializationContext):
    """Stands for a codec that keys payloads by activity or workflow: it must get the
    real context of each command."""

    def __init__(self, context=None):
        self.context = context

    def with_context(self, context):
        return ContextReadingCodec(context)

    async def encode(self, payloads):
        return list(payloads)

    async def decode(self, payloads):
        return list(payloads)


@pytest.fixture
def ours() -> DataConverter:
    return data_converter(Settings(_env_file=None, codec_keys={"k1": new_key()}))


def test_our_converter_reads_no_context_so_the_runner_answers_outside(ours):
    assert reads_no_context(ours)
    sandboxed = workflow_runner()
    runner = runner_for(ours, sandboxed)
    assert isinstance(runner, ContextFreeRunner)
    # Still a SandboxedWorkflowRunner (the SDK's debug mode looks for one), same rules.
    assert isinstance(runner, SandboxedWorkflowRunner)
    assert runner.restrictions is sandboxed.restrictions


def test_a_context_reading_codec_keeps_the_sandboxes_answers(ours):
    reading = dataclasses.replace(ours, payload_codec=ContextReadingCodec())
    sandboxed = workflow_runner()
    assert not reads_no_context(reading)
    assert runner_for(reading, sandboxed) is sandboxed


def test_external_storage_keeps_the_sandboxes_answers(ours):
    # Any value: the runner only asks whether payloads may go to external storage.
    stored = dataclasses.replace(ours, external_storage=object())
    assert not reads_no_context(stored)
    assert not isinstance(runner_for(stored, workflow_runner()), ContextFreeRunner)


async def test_payloads_round_trip_encrypted_and_the_sandbox_still_refuses(time_skipping_env):
    client = time_skipping_env.client
    runner = runner_for(client.data_converter, workflow_runner())
    assert isinstance(runner, ContextFreeRunner)
    queue = f"context-free-{uuid.uuid4()}"
    with ThreadPoolExecutor(2) as threads:
        async with Worker(
            client,
            task_queue=queue,
            workflows=[RoundTrip, SandboxBreach],
            activities=[echo],
            activity_executor=threads,
            workflow_runner=runner,
            workflow_failure_exception_types=[workflow.NondeterminismError],
        ):
            handle = await client.start_workflow(
                RoundTrip.run, "ada", id=f"rt-{uuid.uuid4()}", task_queue=queue
            )
            assert await handle.result() == ["ADA", "ADA!"]
            async for event in handle.fetch_history_events():
                attributes = event.activity_task_scheduled_event_attributes
                for payload in attributes.input.payloads:
                    assert b"ada" not in payload.data  # encrypted in the history

            with pytest.raises(WorkflowFailureError) as failed:
                await client.execute_workflow(
                    SandboxBreach.run, id=f"breach-{uuid.uuid4()}", task_queue=queue
                )
    assert "getcwd" in str(failed.value.cause)  # refused by the sandbox, by name


async def test_the_sdks_debug_mode_still_lets_breakpoint_through(time_skipping_env):
    """Found by review: a runner that was not a SandboxedWorkflowRunner lost the SDK's
    debug-mode relaxations (it finds the sandbox by isinstance)."""
    client = time_skipping_env.client
    queue = f"debug-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[Breakpoint],
        workflow_runner=runner_for(client.data_converter, workflow_runner()),
        workflow_failure_exception_types=[workflow.NondeterminismError],
        debug_mode=True,
    ):
        hits: list[bool] = []  # the worker installed its pdb hook; this stands in for it
        saved, sys.breakpointhook = sys.breakpointhook, lambda *a, **k: hits.append(True)
        try:
            result = await client.execute_workflow(
                Breakpoint.run, id=f"bp-{uuid.uuid4()}", task_queue=queue
            )
        finally:
            sys.breakpointhook = saved
    assert (result, hits) == ("past the breakpoint", [True])
