"""run_script: the run script step's work, done by ScriptRunWorkflow after the journey
has already moved on [001].

Scripts are plain Python callables registered by name: a few built in, plus the
SCRIPTS dict of the module named by DRIPSTONE_SCRIPTS_MODULE:

    SCRIPTS = {"sync_crm": sync_crm}   # sync_crm(contact_id, arguments) -> dict | None

A script runs in a worker thread and may be retried (it raised, or the worker died
before its result was recorded), so it should be idempotent; the step's idempotency key
is passed in `arguments["_idempotency_key"]` for scripts that call other systems.
Its result is recorded as a script.completed event the contact's conditions can read.
"""

import importlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from sqlalchemy import Engine, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.actions import step_of
from activities.callouts import event_id, step_event
from domain.contracts.actions import ActionOutcome, ActionRequest
from domain.contracts.scripts import ScriptFailure
from domain.events import EventType
from domain.steps.contact_changes import RunScript
from projections.event_store import ingest_for_dispatch
from projections.schema import events

log = structlog.get_logger("dripstone.scripts")

Script = Callable[[str, dict[str, Any]], Mapping[str, Any] | None]
MAX_RESULT_CHARS = 8192


def _echo(contact_id: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Returns its arguments: a harmless script to try the step with."""
    return {"contact_id": contact_id, "arguments": arguments}


def _log(contact_id: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Writes a structured log line (`message` and any other arguments)."""
    log.info(
        "script.log",
        contact_id=contact_id,
        **{k: v for k, v in arguments.items() if not k.startswith("_")},
    )
    return {"logged": True}


BUILTIN_SCRIPTS: dict[str, Script] = {"echo": _echo, "log": _log}


def load_scripts(module_path: str | None) -> dict[str, Script]:
    """Built-ins plus the configured module's SCRIPTS; a bad module fails the worker at
    start-up, not a contact's journey days later."""
    scripts = dict(BUILTIN_SCRIPTS)
    if not module_path:
        return scripts
    module = importlib.import_module(module_path)
    registered = getattr(module, "SCRIPTS", None)
    if not isinstance(registered, Mapping):
        raise ValueError(f"DRIPSTONE_SCRIPTS_MODULE={module_path}: expected a dict named SCRIPTS")
    for name, script in registered.items():
        if not isinstance(name, str) or not callable(script):
            raise ValueError(
                f"DRIPSTONE_SCRIPTS_MODULE={module_path}: SCRIPTS[{name!r}] "
                "must map a name to a callable"
            )
        scripts[name] = script
    return scripts


def registered_names(module_path: str | None) -> frozenset[str] | None:
    """The names run_script steps may use, for validation outside the worker (the API, the
    CLI). None, so names go unchecked, when this process has no DRIPSTONE_SCRIPTS_MODULE
    (its workers may well have one) or cannot load it: the worker is where a bad module
    must fail, loudly, at start-up."""
    if not module_path:
        return None
    try:
        return frozenset(load_scripts(module_path))
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of user code
        log.warning("scripts.not_loaded", module=module_path, error=str(exc))
        return None


class ScriptActivities:
    def __init__(self, engine: Engine, scripts: Mapping[str, Script]):
        self.engine = engine
        self.scripts = dict(scripts)

    @activity.defn(name="run_script")
    def run_script(self, request: ActionRequest) -> ActionOutcome:
        step = step_of(request, RunScript, "run_script")
        done = self._recorded(request.idempotency_key)
        if done is not None:
            return done
        script = self.scripts.get(step.script)
        if script is None:
            known = ", ".join(sorted(self.scripts))
            raise ApplicationError(
                f"unknown script {step.script!r}; registered: {known}",
                non_retryable=True,
                type="UnknownScript",
            )
        arguments = {**step.arguments, "_idempotency_key": request.idempotency_key}
        result = _json_safe(script(request.contact_id, arguments) or {})
        event = step_event(
            "script",
            request.idempotency_key,
            request.contact_id,
            EventType.SCRIPT_COMPLETED,
            {
                "script": step.script,
                "flow_id": request.flow_id,
                "step_id": request.step_id,
                "result": result,
            },
        )
        ingest_for_dispatch(self.engine, [event])
        return ActionOutcome(status="done", data={"result": result, "event_id": event.event_id})

    @activity.defn(name="record_script_failed")
    def record_script_failed(self, failure: ScriptFailure) -> None:
        request = failure.request
        step = request.parsed_step()
        script = step.script if isinstance(step, RunScript) else step.kind
        ingest_for_dispatch(
            self.engine,
            [
                step_event(
                    "script",
                    request.idempotency_key,
                    request.contact_id,
                    EventType.SCRIPT_FAILED,
                    {
                        "script": script,
                        "flow_id": request.flow_id,
                        "step_id": request.step_id,
                        "reason": failure.reason[:2000],
                    },
                )
            ],
        )

    def _recorded(self, key: str) -> ActionOutcome | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(events.c.event_id, events.c.payload).where(
                    events.c.event_id == event_id("script", key)
                )
            ).first()
        if row is None:
            return None
        return ActionOutcome(
            status="done",
            data={
                "result": row.payload.get("result", {}),
                "event_id": row.event_id,
                "duplicate": True,
            },
        )


def _json_safe(result: Mapping[str, Any]) -> dict[str, Any]:
    """Whatever the script returned, as a JSON object small enough for an event."""
    if not isinstance(result, Mapping):
        result = {"value": result}
    text = json.dumps(dict(result), default=str)
    if len(text) > MAX_RESULT_CHARS:
        return {"truncated": True, "preview": text[:MAX_RESULT_CHARS]}
    return json.loads(text)
