"""ScriptRunWorkflow: runs one run script step, started by a journey as an abandoned
child so the journey moves on at once [001]. It outlives the journey, retries the
script on its own, and records a script.failed event when it gives up, so the failure
is visible both to conditions and, as a failed workflow, in the Temporal UI."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.contracts.actions import ActionOutcome, ActionRequest
    from domain.contracts.scripts import ScriptFailure

SCRIPT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
    non_retryable_error_types=["UnknownScript", "InvalidChange"],
)
SCRIPT_TIMEOUT = timedelta(minutes=5)
RECORD_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name="ScriptRunWorkflow")
class ScriptRunWorkflow:
    @workflow.run
    async def run(self, request: ActionRequest) -> ActionOutcome:
        script = request.step.get("script", "?")
        try:
            return await workflow.execute_activity(
                "run_script",
                request,
                result_type=ActionOutcome,
                start_to_close_timeout=SCRIPT_TIMEOUT,
                retry_policy=SCRIPT_RETRY,
                summary=f"script {script}",
            )
        except ActivityError as exc:
            cause = exc.cause
            reason = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
            kind = cause.type if isinstance(cause, ApplicationError) else None
            await workflow.execute_activity(
                "record_script_failed",
                ScriptFailure(request=request, reason=reason),
                start_to_close_timeout=RECORD_TIMEOUT,
                summary=f"record script {script} failed",
            )
            raise ApplicationError(
                f"script {script!r} failed: {reason}",
                type=kind or "ScriptFailed",
                non_retryable=True,
            ) from None
