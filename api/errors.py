"""How refusals look over HTTP. Bad input is a 422 whose `detail` names each field by a
readable path (`events[2].payload.form_id`); an unknown flow or version is a 404; a
lifecycle conflict (publish refused, archived flow, manual enrollment refused) is a 409,
with the validation `problems` when there are some."""

from collections.abc import Iterable, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from temporalio.service import RPCError, RPCStatusCode

from api.auth import key_problem, presented_key, unauthorized
from codec.client import is_connect_failure
from domain.events import EventRejected
from domain.flow_status import IllegalTransition
from domain.validation import Problem
from projections.flow_catalogue import (
    CatalogueError,
    PublishRefused,
    UnknownFlow,
    UnknownVersion,
)
from projections.flow_lifecycle import DraftRejected
from projections.mailings import MailingConflict, MailingNotFound

log = structlog.get_logger("dripstone.api")
_UNREACHABLE = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)


class FieldProblem(BaseModel):
    loc: str = Field(
        description="The field's path in the request, e.g. events[2].payload.form_id "
        "(path parameters as path.NAME, query parameters as query.NAME)."
    )
    msg: str
    type: str


class Invalid(BaseModel):
    detail: list[FieldProblem]
    problems: list[Problem] | None = Field(
        default=None, description="For a flow document that cannot be filed: the flow problem."
    )


class Refusal(BaseModel):
    detail: str
    problems: list[Problem] | None = Field(
        default=None, description="When publishing is refused: every error left in the draft."
    )


_RESPONSES = {
    401: (Refusal, "Missing or invalid API key (WWW-Authenticate: Bearer)."),
    404: (
        Refusal,
        "No such flow, version or contact (or live journey, operation or dead "
        "letter, on the routes about those).",
    ),
    409: (
        Refusal,
        "Refused by the flow's lifecycle: archived, not published, nothing to "
        "publish, errors left, manual enrollment not allowed or not re-entered.",
    ),
    422: (Invalid, "Invalid input; each problem names its field."),
    503: (Refusal, "Temporal is not connected to this API process, or unreachable."),
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Documented error responses, for the OpenAPI schema."""
    return {
        code: {"model": _RESPONSES[code][0], "description": _RESPONSES[code][1]} for code in codes
    }


def field_path(loc: Sequence[Any]) -> str:
    """("events", 2, "payload", "form_id") -> "events[2].payload.form_id"."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def prefixed(prefix: str, field: str) -> str:
    """A field path of one event (`payload.form_id`) as part of a batch (`events[2].payload.form_id`)."""
    return f"{prefix}.{field}" if field else prefix


def _detail(loc: str, msg: str, type_: str) -> dict[str, str]:
    return {"loc": loc, "msg": msg, "type": type_}


def _request_problems(errors: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    detail = []
    for error in errors:
        loc = list(error.get("loc", ()))
        if loc and loc[0] == "body":
            loc = loc[1:]
        if error.get("type") == "json_invalid":
            # loc holds a character offset, which is no field; say where instead.
            position = loc[0] if loc else "?"
            detail.append(
                _detail("body", f"not valid JSON (at character {position})", "json_invalid")
            )
            continue
        # A validator's own message, without pydantic's "Value error, " in front of it.
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        detail.append(_detail(field_path(loc) or "body", message, error.get("type", "value_error")))
    return detail


def _problem_json(problems: Iterable[Problem]) -> list[dict[str, Any]]:
    return [p.model_dump(mode="json") for p in problems]


async def _validation_failed(request: Request, exc: RequestValidationError) -> JSONResponse:
    # A body FastAPI cannot even decode fails before any dependency runs, so the key
    # check has not happened yet: without it, callers with no key could probe bodies.
    if _protected(request):
        problem = key_problem(presented_key(request), request.app.state.settings.api_keys)
        if problem is not None:
            refusal = unauthorized(problem)
            return JSONResponse({"detail": refusal.detail}, 401, headers=refusal.headers)
    return JSONResponse({"detail": _request_problems(exc.errors())}, 422)


def _protected(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/v1/") or path == "/openapi.json"


async def _event_rejected(request: Request, exc: EventRejected) -> JSONResponse:
    return JSONResponse(
        {"detail": [_detail(field, reason, "invalid_event") for field, reason in exc.problems]}, 422
    )


def _status_of(exc: Exception) -> int:
    if isinstance(exc, (UnknownFlow, UnknownVersion)):
        return 404
    if isinstance(exc, DraftRejected):
        return 422
    return 409  # publish refused, nothing to publish, manual enrollment refused, archived


async def _catalogue_refused(request: Request, exc: CatalogueError) -> JSONResponse:
    status = _status_of(exc)
    if isinstance(exc, DraftRejected):
        return JSONResponse(
            {
                "detail": [_detail(p.field, p.message, p.code) for p in exc.problems],
                "problems": _problem_json(exc.problems),
            },
            status,
        )
    body: dict[str, Any] = {"detail": str(exc)}
    if isinstance(exc, PublishRefused):
        body["problems"] = _problem_json(exc.problems)
    return JSONResponse(body, status)


async def _temporal_unreachable(request: Request, exc: Exception) -> JSONResponse:
    """Temporal down or not reachable from here: a 503 to retry, not a 500. Events are
    not affected (they are stored and their dispatch is retried); this is for routes
    that need Temporal to answer (journeys, enrollments, backfills)."""
    if isinstance(exc, RPCError) and exc.status not in _UNREACHABLE:
        raise exc
    if isinstance(exc, RuntimeError) and not is_connect_failure(exc):
        raise exc
    log.warning("api.temporal_unreachable", path=request.url.path, error=str(exc))
    return JSONResponse({"detail": "Temporal is unreachable; retry later"}, 503)


async def _illegal_transition(request: Request, exc: IllegalTransition) -> JSONResponse:
    return JSONResponse(
        {"detail": str(exc), "status": exc.current.value if exc.current else None}, 409
    )


async def _mailing_refused(request: Request, exc: Exception) -> JSONResponse:
    body: dict[str, Any] = {"detail": str(exc)}
    if isinstance(exc, MailingConflict):
        body["status"] = exc.status
    return JSONResponse(body, 404 if isinstance(exc, MailingNotFound) else 409)


def install(app: FastAPI) -> None:
    app.add_exception_handler(MailingNotFound, _mailing_refused)
    app.add_exception_handler(MailingConflict, _mailing_refused)
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(EventRejected, _event_rejected)
    app.add_exception_handler(CatalogueError, _catalogue_refused)
    app.add_exception_handler(IllegalTransition, _illegal_transition)
    app.add_exception_handler(RPCError, _temporal_unreachable)
    # A lazily connected client reports a server it cannot reach this way.
    app.add_exception_handler(RuntimeError, _temporal_unreachable)
