"""Every stored workflow history (journeys, backfills, flow operations, mailings) must still replay against today's workflow code.
A failure here means a change is not backwards compatible: put it behind
workflow.patched(...) instead of editing the history."""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from codec.context_free_runner import runner_for
from codec.converter import data_converter
from settings import Settings
from worker import workflow_runner
from workflows.backfill import BackfillWorkflow
from workflows.flow_control import FlowControlWorkflow
from workflows.journey import JourneyWorkflow
from workflows.mailing import MailingWorkflow
from workflows.migration import MigrationWorkflow
from workflows.script_run import ScriptRunWorkflow

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))


def test_histories_are_stored():
    assert HISTORIES, "no stored histories under tests/histories"


# Both the default sandbox (its import-time checks see our workflow modules) and the
# runner the worker uses (those modules passed through: models shared in and out; the
# serialization context answered outside the sandbox, codec/context_free_runner.py).
RUNNERS = {
    "sandbox": lambda: SandboxedWorkflowRunner(),
    "worker": lambda: runner_for(data_converter(Settings()), workflow_runner()),
}


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_stored_history_replays(path: Path, runner: str):
    history = WorkflowHistory.from_json(f"replayed/{path.stem}", path.read_text())
    replayer = Replayer(
        workflows=[
            JourneyWorkflow,
            BackfillWorkflow,
            ScriptRunWorkflow,
            FlowControlWorkflow,
            MailingWorkflow,
            MigrationWorkflow,
        ],
        data_converter=data_converter(Settings()),
        workflow_runner=RUNNERS[runner](),
        # The check is determinism against the history; the 2 s deadlock
        # timer only measures how loaded the machine is (it failed CI once).
        debug_mode=True,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
