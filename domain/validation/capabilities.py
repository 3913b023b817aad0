"""Warnings for what this engine version can store and publish but not yet run, so a
user learns it at publish time rather than from a failed journey."""

from domain.flow import Flow
from domain.steps import EXECUTABLE_KINDS
from domain.steps import flow_control as fc
from domain.steps import messaging as msg
from domain.validation.problems import Problem


def _warn(step_id, field, code, message) -> Problem:
    return Problem(step_id=step_id, field=field, code=code, severity="warning", message=message)


def check_capabilities(flow: Flow) -> list[Problem]:
    problems = []
    if flow.enrollment.existing_contacts:
        problems.append(_warn(None, "enrollment.existing_contacts", "not_executable_yet",
                              "enrolling existing contacts on publish (backfill) is not supported "
                              "by this engine yet; only new events enroll"))
    for step in flow.steps:
        if isinstance(step, msg.SendEmail):
            for field in ("template_id", "attachments", "reply_to", "connection"):
                if getattr(step, field):
                    problems.append(_warn(step.id, field, "not_executable_yet",
                                          f"this engine does not send {field} yet; the email "
                                          "goes out without it"))
        if step.kind not in EXECUTABLE_KINDS:
            problems.append(_warn(step.id, "kind", "not_executable_yet",
                                  f"this engine cannot run {step.kind!r} steps yet; "
                                  "journeys that reach this step will fail"))
        if step.when is not None and step.when.local_at is not None:
            problems.append(_warn(step.id, "when.local_at", "not_executable_yet",
                                  "running at a time in the contact's zone is not supported "
                                  "by this engine yet"))
        if isinstance(step, fc.Wait) and step.time_of_day is not None:
            problems.append(_warn(step.id, "time_of_day", "not_executable_yet",
                                  "waiting for a time of day is not supported by this engine yet"))
    return problems

