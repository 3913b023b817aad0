"""Counting what activities and journeys did, from outside their code: a worker
interceptor reads each activity's result (or failure) and each journey's final state.

Kept out of the activities so there is one place that turns outcomes into metrics, and
out of workflow code so no metric can change a history: the journey's end reaches the
counter through an extern function, called only when the workflow is not replaying (as
Temporal's own tracing interceptor does for its workflow spans)."""

from typing import Any

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor, ExecuteActivityInput, ExecuteWorkflowInput, Interceptor,
    WorkflowInboundInterceptor, WorkflowInterceptorClassInput,
)

from telemetry.metrics import (
    END_STATUSES, JOURNEYS_ENDED, MAILING_BATCHES, MAILING_RECIPIENTS, PROVIDER_ERRORS, SENDS,
    SKIP_REASONS, bounded,
)

# Activity name -> the channel its sends are counted under.
CHANNELS = {"send_email": "email", "send_sms": "sms", "place_call": "voice",
            "notify_team": "team", "call_webhook": "webhook"}
# Failure types that mean a provider (or webhook target) answered no or not now.
PROVIDER_FAILURES = {"ProviderRejected": "rejected", "TargetRefused": "rejected",
                     "ProviderUnavailable": "unavailable", "WebhookUnavailable": "unavailable"}
JOURNEY_ENDED_EXTERN = "__dripstone_journey_ended"


class MetricsInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountingActivities(next)

    def workflow_interceptor_class(
            self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        input.unsafe_extern_functions[JOURNEY_ENDED_EXTERN] = journey_ended
        return _CountingJourneyEnds


class _CountingActivities(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        name = activity.info().activity_type
        try:
            result = await super().execute_activity(input)
        except ApplicationError as exc:
            activity_failed(name, exc)
            raise
        activity_done(name, result)
        return result


class _CountingJourneyEnds(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        result = await super().execute_workflow(input)
        if (workflow.info().workflow_type == "JourneyWorkflow"
                and not workflow.unsafe.is_replaying()):
            workflow.extern_functions()[JOURNEY_ENDED_EXTERN](str(getattr(result, "status", "")))
        return result


def journey_ended(status: str) -> None:
    JOURNEYS_ENDED.labels(bounded(status, END_STATUSES)).inc()


def activity_done(name: str, result: Any) -> None:
    if name in CHANNELS:
        SENDS.labels(CHANNELS[name], send_outcome(result)).inc()
    elif name == "send_mailing_batch":
        MAILING_BATCHES.inc()
        MAILING_RECIPIENTS.labels("sent").inc(result.sent - result.duplicates)
        MAILING_RECIPIENTS.labels("duplicate").inc(result.duplicates)
        MAILING_RECIPIENTS.labels("failed").inc(result.failed)
        for reason, count in result.skipped.items():
            MAILING_RECIPIENTS.labels(f"skipped_{bounded(reason, SKIP_REASONS)}").inc(count)


def activity_failed(name: str, exc: ApplicationError) -> None:
    if exc.type in PROVIDER_FAILURES:
        PROVIDER_ERRORS.labels(name, PROVIDER_FAILURES[exc.type]).inc()
    if name in CHANNELS and exc.non_retryable:
        SENDS.labels(CHANNELS[name], "failed").inc()  # the step fails; no retry will send


def send_outcome(result: Any) -> str:
    status = getattr(result, "status", None)
    if status in ("sent", "done"):
        return "duplicate" if getattr(result, "duplicate", False) else "sent"
    if status == "skipped":
        return f"skipped_{bounded(getattr(result, 'reason_code', None), SKIP_REASONS)}"
    return "failed"
