"""Counting what activities and journeys did, from outside their code: a worker
interceptor reads each activity's result (or failure).

Kept out of the activities so there is one place that turns outcomes into metrics, and
out of workflow code so no metric can change a history. A journey's end is counted from
its last journey-index write, which says whether it was the one that ended the row: code
at a workflow's end can run more than once outside replay (the server refuses a
completion when a signal arrived meanwhile, and the task runs again), a row ends once."""

from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from telemetry.metrics import (
    END_STATUSES,
    JOURNEYS_ENDED,
    MAILING_BATCHES,
    MAILING_RECIPIENTS,
    PROVIDER_ERRORS,
    SENDS,
    SKIP_REASONS,
    bounded,
)

# Activity name -> the channel its sends are counted under.
CHANNELS = {
    "send_email": "email",
    "send_sms": "sms",
    "place_call": "voice",
    "notify_team": "team",
    "call_webhook": "webhook",
}
# Failure types that mean a provider (or webhook target) answered no or not now.
PROVIDER_FAILURES = {
    "ProviderRejected": "rejected",
    "TargetRefused": "rejected",
    "ProviderUnavailable": "unavailable",
    "WebhookUnavailable": "unavailable",
}


# The activities that end a journey's index row, and where their argument says how it
# ended: True from them means this call ended it, so each journey end counts once.
INDEX_ENDS = {
    "record_journey": lambda request: str(getattr(request, "status", None) or "ended"),
    "record_progress": lambda progress: str(getattr(progress.end, "status", None) or "ended"),
}


class MetricsInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountingActivities(next)


class _CountingActivities(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        name = activity.info().activity_type
        try:
            result = await super().execute_activity(input)
        except ApplicationError as exc:
            activity_failed(name, exc)
            raise
        if name in INDEX_ENDS and result is True:
            journey_ended(INDEX_ENDS[name](input.args[0]))
        activity_done(name, result)
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
