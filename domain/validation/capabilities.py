"""Warnings for what this engine version can store and publish but not yet run, so a
user learns it at publish time rather than from a failed journey."""

from domain.flow import Flow
from domain.steps import messaging as msg
from domain.validation.problems import Problem


def _warn(step_id: str, field: str, code: str, message: str) -> Problem:
    return Problem(step_id=step_id, field=field, code=code, severity="warning", message=message)


def check_capabilities(flow: Flow) -> list[Problem]:
    problems: list[Problem] = []
    for step in flow.steps:
        if isinstance(step, msg.SendEmail) and step.connection:
            problems.append(
                _warn(
                    step.id,
                    "connection",
                    "not_executable_yet",
                    "this engine sends every email through its one configured "
                    "provider; the sender connection is not used yet",
                )
            )
    return problems
