"""Flow validation: every problem a publish must refuse, each naming its step and field.

Returns a list instead of raising so a draft can be saved with problems and an editor
can show all of them at once. Warnings (e.g. a long SMS) never block publishing."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from domain.conditions import uses_contact_zone
from domain.flow import Flow
from domain.merge_tags import CONTACT_FIELDS
from domain.payload_schemas import PAYLOAD_SCHEMAS
from domain.predicates import OPERATORS_WITHOUT_VALUE, PREDICATES
from domain.steps import STEP_KINDS, Step
from domain.steps.contact_changes import RunScript
from domain.steps.experiments import Experiment
from domain.steps.messaging import Dial, Hangup, Pause, Record, Say, SendEmail, SendSms
from domain.topics import LINK_FIELDS
from domain.validation.capabilities import check_capabilities
from domain.validation.conditions import check_condition
from domain.validation.content import check_content
from domain.validation.experiments import check_experiment
from domain.validation.graph import check_graph
from domain.validation.links import check_links
from domain.validation.problems import Problem, Severity, missing, step_id_at
from domain.validation.step_settings import check_step_settings
from domain.validation.topics import check_topic

# Discriminator values of unions nested inside steps (conditions and call actions).
_NESTED_TAGS = (
    {cls.model_fields["kind"].default for cls in PREDICATES}
    | {"all", "any", "not"}
    | {cls.model_fields["action"].default for cls in (Say, Dial, Pause, Hangup, Record)}
)

__all__ = ["Problem", "Severity", "parse_flow", "validate_flow", "errors"]


def parse_flow(
    document: dict[str, Any],
    known_fields: set[str] | None = None,
    *,
    allow_private_targets: bool = False,
    known_scripts: frozenset[str] | None = None,
    known_topics: frozenset[str] | None = None,
    preference_links: bool | None = None,
) -> tuple[Flow | None, list[Problem]]:
    """Turn a raw document into a Flow, or into problems that name the offending field."""
    try:
        flow = Flow.model_validate(document)
    except ValidationError as exc:
        return None, [_problem_from_pydantic(document, e) for e in exc.errors()]
    return flow, validate_flow(
        flow,
        known_fields,
        allow_private_targets=allow_private_targets,
        known_scripts=known_scripts,
        known_topics=known_topics,
        preference_links=preference_links,
    )


def validate_flow(
    flow: Flow,
    known_fields: set[str] | None = None,
    *,
    allow_private_targets: bool = False,
    known_scripts: frozenset[str] | None = None,
    known_topics: frozenset[str] | None = None,
    preference_links: bool | None = None,
) -> list[Problem]:
    """`known_fields`: attribute names contacts have; when given, merge tags naming any
    other field are reported (the standard contact fields are always known).
    `allow_private_targets`: the worker's settings.webhook_allow_private_targets; unless
    set, a webhook or attachment URL whose host is a loopback, private, link-local or
    cloud-metadata address is an error (`private_target`), as it is when the step runs.
    `known_scripts`: the scripts the deployment registers (built-ins and
    DRIPSTONE_SCRIPTS_MODULE's); when given, a run_script naming another is an error.
    `known_topics`: the deployment's subscription topics; when given, a message step
    naming another `topic` is an error.
    `preference_links`: whether the deployment configures preference links; when False,
    `{{ preferences_url }}` is an error naming the settings (domain/validation/links.py)."""
    known_events = set(PAYLOAD_SCHEMAS)
    fields = None if known_fields is None else set(known_fields) | CONTACT_FIELDS | LINK_FIELDS
    problems = _check_trigger(flow, known_events)
    problems += check_graph(flow)
    for step in flow.steps:
        problems += check_step_settings(step, flow.id, known_events)
        problems += check_content(step, fields, allow_private_targets)
        problems += _check_script(step, known_scripts)
        problems += check_experiment(step, flow, fields, known_events)
        problems += check_links(step, preference_links)
        if isinstance(step, (SendEmail, SendSms, Experiment)):
            problems += check_topic(step.id, "topic", step.topic, known_topics)
    return problems + check_capabilities(flow)


def _check_script(step: Step, known_scripts: frozenset[str] | None) -> list[Problem]:
    if known_scripts is None or not isinstance(step, RunScript) or not step.script.strip():
        return []
    if step.script in known_scripts:
        return []
    return [
        Problem(
            step_id=step.id,
            field="script",
            code="unknown_script",
            message=(
                f"no script {step.script!r} is registered (registered: "
                f"{', '.join(sorted(known_scripts))}); add it to SCRIPTS in the module "
                "DRIPSTONE_SCRIPTS_MODULE names, see docs/scripts.md"
            ),
        )
    ]


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def _check_trigger(flow: Flow, known_events: set[str]) -> list[Problem]:
    problems = []
    if flow.trigger.event not in known_events:
        problems.append(
            Problem(
                step_id=None,
                field="trigger.event",
                code="unknown_event",
                message=f"unknown event type {flow.trigger.event!r}",
            )
        )
    for i, where in enumerate(flow.trigger.where):
        if not where.path.strip():
            problems.append(missing(None, f"trigger.where.{i}.path", "a payload property"))
        if where.op not in OPERATORS_WITHOUT_VALUE and where.value is None:
            problems.append(
                missing(None, f"trigger.where.{i}.value", f"operator {where.op!r} needs a value")
            )
    if flow.trigger.condition is not None:
        problems += check_condition(None, "trigger.condition", flow.trigger.condition)
        if uses_contact_zone(flow.trigger.condition):
            # The router and backfill decide triggers without the deployment's zones.
            problems.append(
                Problem(
                    step_id=None,
                    field="trigger.condition",
                    code="contact_zone_in_trigger",
                    message='timezone "contact" is decided by a step (branch, run_if), not by '
                    "the trigger; give the trigger an IANA zone or move the test into the flow",
                )
            )
    return problems + _check_self_trigger(flow)


# Events the engine writes, by the step kinds that write them. They are routed like any
# event, so a flow triggered by one and re-entering `always` would enroll the contact
# again from every run's own step: a loop that never ends.
_WRITTEN_BY = {
    "message.sent": {"send_email", "send_sms", "phone_call", "notify_team"},
    "webhook.responded": {"webhook"},
    "script.completed": {"run_script"},
    "script.failed": {"run_script"},
    "journey.converted": {"goal"},
}


def _check_self_trigger(flow: Flow) -> list[Problem]:
    writers = _WRITTEN_BY.get(flow.trigger.event, set())
    own = sorted({step.kind for step in flow.steps} & writers)
    if not own or flow.re_entry != "always" or flow.trigger.where:
        return []
    return [
        Problem(
            step_id=None,
            field="trigger.event",
            code="self_trigger",
            message=(
                f"{flow.trigger.event!r} is written by this flow's own {', '.join(own)} step(s), and "
                "re_entry 'always' would enroll the contact again from each of them, without end; "
                "filter the trigger (trigger.where, e.g. on flow_id) or use re_entry never/after_exit"
            ),
        )
    ]


def _problem_from_pydantic(document: dict[str, Any], error: Any) -> Problem:
    loc = list(error["loc"])
    step_id = step_id_at(document, loc)
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        rest = loc[2:]
        # pydantic puts discriminator values ('send_email', 'has_tag', 'pause') in the
        # path; validation names fields without them, so drop them to match.
        if rest and rest[0] in STEP_KINDS:
            rest = rest[1:]
        rest = [
            part for i, part in enumerate(rest) if not (part in _NESTED_TAGS and i + 1 < len(rest))
        ]
        if not rest and error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            rest = ["kind"]
        loc = rest if step_id else loc[:2] + rest
    field = ".".join(str(p) for p in loc) or "document"
    return Problem(step_id=step_id, field=field, code="invalid", message=error["msg"])
