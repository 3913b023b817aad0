"""What every action activity does first: take its step out of the request, refused for
good if it is not the kind the activity runs. (The request and outcome themselves are
contracts with the workflows: domain/contracts/actions.py.)"""

from typing import TypeVar

from temporalio.exceptions import ApplicationError

from domain.contracts.actions import ActionRequest

S = TypeVar("S")


def step_of(request: ActionRequest, kind: type[S], activity_name: str) -> S:
    step = request.parsed_step()
    if not isinstance(step, kind):
        raise ApplicationError(
            f"{activity_name} got a {step.kind} step", non_retryable=True, type="InvalidChange"
        )
    return step
