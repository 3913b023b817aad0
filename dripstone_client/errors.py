"""What a failed call raises: one class per kind of answer a caller handles differently,
each carrying the server's words (the field paths of a 422 above all)."""

from __future__ import annotations

import re
from typing import Any

_EVENT_INDEX = re.compile(r"^events\[(\d+)\]")


class DripstoneError(Exception):
    """Any failed call. `status` is the HTTP status (None when no answer came back)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: Any = None,
        problems: list | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.problems = problems or []
        # For a batch sent in chunks: what the chunks before the failing one stored.
        self.accepted: dict | None = None


class ConnectionFailed(DripstoneError):
    """No answer (connection refused, timeout, dropped) after every retry allowed."""


class AuthenticationError(DripstoneError):
    """401: the API key is missing or not one the server accepts."""


class NotFound(DripstoneError):
    """404: unknown flow, contact, version or backfill."""


class Conflict(DripstoneError):
    """409: the flow's lifecycle refuses it (publish refused, archived flow, manual
    enrollment refused); `problems` says why when the server lists reasons."""


class ValidationFailed(DripstoneError):
    """422: `errors` is the server's list of {"loc", "msg", ...}, loc a field path such
    as "events[2].payload.form_id"."""

    def __init__(self, message: str, *, errors: list[dict], **kwargs: Any):
        super().__init__(message, **kwargs)
        self.errors = errors


class ServerError(DripstoneError):
    """5xx that retries did not get past (or a call that is not safe to retry)."""


_BY_STATUS: dict[int, type[DripstoneError]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFound,
    409: Conflict,
}


def _shift(loc: str, offset: int) -> str:
    """A chunk's "events[i]" as the index in the caller's whole list."""
    if not offset:
        return loc
    return _EVENT_INDEX.sub(lambda m: f"events[{int(m.group(1)) + offset}]", loc, count=1)


def _loc(raw: Any) -> str:
    # FastAPI's own errors carry loc as a list; the API's readable ones as a string.
    if isinstance(raw, list | tuple):
        parts = [p for p in raw if p != "body"]
        path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in parts)
        return path.replace(".[", "[")
    return str(raw)


def error_from(status: int, body: Any, *, loc_offset: int = 0) -> DripstoneError:
    """The exception for a non-2xx answer; `body` is the decoded JSON (or text)."""
    detail = body.get("detail") if isinstance(body, dict) else body
    problems = body.get("problems") if isinstance(body, dict) else None
    if isinstance(detail, list):
        errors = [
            {**e, "loc": _shift(_loc(e.get("loc", "")), loc_offset)}
            if isinstance(e, dict)
            else {"loc": "", "msg": str(e)}
            for e in detail
        ]
        text = "; ".join(
            f"{e['loc']}: {e.get('msg', '')}" if e["loc"] else str(e.get("msg", "")) for e in errors
        )
        return ValidationFailed(
            f"{status}: {text}", errors=errors, status=status, detail=detail, problems=problems
        )
    text = str(detail) if detail not in (None, "") else "no detail"
    if problems:
        text += " (" + "; ".join(_problem_text(p) for p in problems) + ")"
    if status == 422:
        return ValidationFailed(
            f"{status}: {text}",
            errors=[{"loc": "", "msg": str(detail)}],
            status=status,
            detail=detail,
            problems=problems,
        )
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else DripstoneError)
    return cls(f"{status}: {text}", status=status, detail=detail, problems=problems)


def _problem_text(problem: Any) -> str:
    if not isinstance(problem, dict):
        return str(problem)
    where = ".".join(str(problem[k]) for k in ("step_id", "field") if problem.get(k))
    message = problem.get("message") or problem.get("msg") or problem
    return f"{where}: {message}" if where else str(message)
