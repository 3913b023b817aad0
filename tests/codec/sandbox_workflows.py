"""Workflows for tests/codec/test_context_free_runner.py, in a module of their own: the
sandbox re-imports a workflow's module, and the test module's imports (the worker, the
settings) have no business there."""

import os
from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="context_free_echo")
def echo(text: str) -> str:
    return text.upper()


@workflow.defn(name="ContextFreeRoundTrip")
class RoundTrip:
    @workflow.run
    async def run(self, text: str) -> list[str]:
        local = await workflow.execute_local_activity(
            echo, text, start_to_close_timeout=timedelta(seconds=10), summary="local"
        )
        remote = await workflow.execute_activity(
            echo, text + "!", start_to_close_timeout=timedelta(seconds=10), summary="regular"
        )
        return [local, remote]


@workflow.defn(name="ContextFreeSandboxBreach")
class SandboxBreach:
    @workflow.run
    async def run(self) -> str:
        return os.getcwd()  # a restricted call: the sandbox must still refuse it


@workflow.defn(name="ContextFreeBreakpoint")
class Breakpoint:
    @workflow.run
    async def run(self) -> str:
        breakpoint()  # let through by the sandbox in the worker's debug mode only
        return "past the breakpoint"
