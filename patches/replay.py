"""Which stored histories (tests/histories) would stop replaying if a patch were
deprecated: `workflow.patched(name)` is made to behave as `deprecate_patch(name)` (the
new branch always, the marker no longer needed), and every stored history is replayed.
A history that fails took the old branch: it is a run from before the patch. Those
files go when the patch is retired, and runs like them must no longer exist."""

from pathlib import Path

from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from patches.catalogue import ROOT

HISTORIES = ROOT / "tests" / "histories"


async def failing_without(name: str, histories: list[Path] | None = None) -> list[str]:
    from codec.converter import data_converter
    from settings import Settings
    from workflows.backfill import BackfillWorkflow
    from workflows.flow_control import FlowControlWorkflow
    from workflows.journey import JourneyWorkflow
    from workflows.mailing import MailingWorkflow
    from workflows.migration import MigrationWorkflow
    from workflows.script_run import ScriptRunWorkflow

    # Unsandboxed so the stand-in below is what the workflow code calls.
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
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    original = workflow.patched

    def as_deprecated(patch_id: str) -> bool:
        if patch_id != name:
            return original(patch_id)
        workflow.deprecate_patch(patch_id)
        return True

    failing = []
    workflow.patched = as_deprecated
    try:
        for path in histories or sorted(HISTORIES.glob("*.json")):
            history = WorkflowHistory.from_json(path.stem, path.read_text())
            result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
            if result.replay_failure is not None:
                failing.append(path.name)
    finally:
        workflow.patched = original
    return failing
