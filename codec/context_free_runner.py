"""Workflows in the sandbox, without a trip into it for every payload.

The SDK asks the workflow instance, for every payload sequence of every activation and
completion (three passes each way), which serialization context applies: an activity's,
a child's, the workflow's. With the sandbox, each question is an `exec` under its import
hooks, and that was about a quarter of a journey worker's CPU (py-spy over
`bench.enrollment`). Our converter and codec read no context (`with_context` hands back
the converter itself) and keep nothing in external storage, so the answer cannot change
a byte of any payload: this runner gives the workflow's own context, from outside the
sandbox. Activations still run inside it, with its restrictions.

`runner_for` checks that premise on the converter actually used; a converter that does
read the context gets the sandbox's own answers, as before."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    SerializationContext,
    StorageDriverStoreContext,
    StorageDriverWorkflowInfo,
    WorkflowSerializationContext,
)
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

# Contexts of every kind a workflow's payloads get: a converter must ignore them all.
_PROBES: tuple[SerializationContext, ...] = (
    WorkflowSerializationContext(namespace="probe", workflow_id="probe"),
    ActivitySerializationContext(
        namespace="probe",
        workflow_id="probe",
        workflow_type="probe",
        activity_type="probe",
        activity_id="probe",
        activity_task_queue="probe",
        is_local=True,
    ),
)


def reads_no_context(converter: DataConverter) -> bool:
    """True when no serialization context can change what `converter` writes or reads."""
    return converter.external_storage is None and all(
        converter.with_context(probe) is converter for probe in _PROBES
    )


def runner_for(
    converter: DataConverter, sandboxed: SandboxedWorkflowRunner
) -> SandboxedWorkflowRunner:
    if not reads_no_context(converter):
        return sandboxed
    return ContextFreeRunner(
        restrictions=sandboxed.restrictions, runner_class=sandboxed.runner_class
    )


@dataclass(frozen=True)
class ContextFreeRunner(SandboxedWorkflowRunner):
    """The sandboxed runner itself, so what the SDK does for one still happens (its debug
    mode lets breakpoint() and the debugger's modules through a SandboxedWorkflowRunner,
    found by isinstance, rebuilt with dataclasses.replace); only its instances differ."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _ContextFreeInstance(super().create_instance(det), det.info)


class _ContextFreeInstance(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance, info: workflow.Info):
        self.inner = inner
        # Per run (a continue-as-new is a new instance), so fixed for this one's life.
        self.context = WorkflowSerializationContext(
            namespace=info.namespace, workflow_id=info.workflow_id
        )
        self.store = StorageDriverStoreContext(
            target=StorageDriverWorkflowInfo(
                id=info.workflow_id,
                run_id=info.run_id,
                type=info.workflow_type,
                namespace=info.namespace,
            )
        )

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        return self.inner.activate(act)

    def get_serialization_context(self, command_info) -> SerializationContext | None:
        return self.context

    def get_external_store_context(self, command_info) -> StorageDriverStoreContext:
        return self.store

    def get_info(self) -> workflow.Info:
        return self.inner.get_info()

    def get_thread_id(self) -> int | None:
        return self.inner.get_thread_id()
