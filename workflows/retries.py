"""The step table's retry policies (plain data in domain/step_table.py) as Temporal's."""

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.step_table import Retry


def retry_policy(retry: Retry) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=retry.initial_interval,
        backoff_coefficient=retry.backoff_coefficient,
        maximum_interval=retry.maximum_interval,
        non_retryable_error_types=list(retry.non_retryable_error_types),
    )
