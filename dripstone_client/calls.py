"""Every API call as data: what to send (a Call) and how to read the answers (a Plan).
Both clients execute the same Plans, so request building, chunking and error reading
exist once; only the I/O differs (blocking or awaited)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

BATCH_LIMIT = 1000  # the server refuses larger batches


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Any = None
    params: Mapping[str, Any] | None = None
    # Safe to send again when no answer (or a 5xx) came back: reads, and writes that
    # carry an id the server deduplicates on (events, contact upserts).
    retry: bool = False
    loc_offset: int = 0  # a chunk's first index in the caller's list, for error paths

    def content(self) -> bytes | None:
        return None if self.body is None else json.dumps(self.body, default=_encode).encode()

    def query(self) -> dict[str, Any] | None:
        return {k: v for k, v in self.params.items() if v is not None} if self.params else None


def _single(results: list[Any]) -> Any:
    return results[0]


@dataclass(frozen=True)
class Plan:
    calls: list[Call]
    combine: Callable[[list[Any]], Any] = _single


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    dump = getattr(value, "model_dump", None)  # pydantic models, e.g. domain ContactEvent
    if callable(dump):
        return dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def new_event_id() -> str:
    """Made here rather than by the server, so a retried request is a duplicate the
    server drops, never a second event."""
    return f"client-{uuid.uuid4()}"


def event_body(
    type: str,
    contact_id: str,
    payload: Mapping[str, Any] | None,
    event_id: str | None,
    occurred_at: datetime | str | None,
    source: str | None,
) -> dict[str, Any]:
    body = {
        "event_id": event_id or new_event_id(),
        "type": type,
        "contact_id": contact_id,
        "payload": dict(payload or {}),
    }
    if occurred_at is not None:
        body["occurred_at"] = occurred_at
    if source is not None:
        body["source"] = source
    return body


def with_event_id(event: Any) -> dict[str, Any]:
    raw = _encode(event) if not isinstance(event, Mapping) else dict(event)
    return raw if raw.get("event_id") else {**raw, "event_id": new_event_id()}


def send_event(**fields: Any) -> Plan:
    return Plan([Call("POST", "/v1/events", event_body(**fields), retry=True)])


def _merge_batches(results: list[dict]) -> dict:
    return {
        "received": sum(r.get("received", 0) for r in results),
        "appended": sum(r.get("appended", 0) for r in results),
        "duplicates": [d for r in results for d in r.get("duplicates", [])],
        "routed": [x for r in results for x in r.get("routed", [])],
    }


def send_events(events: Iterable[Any], chunk: int = BATCH_LIMIT) -> Plan:
    """Chunks of at most 1000, sent in order, so one contact's events keep their order."""
    if not 1 <= chunk <= BATCH_LIMIT:
        raise ValueError(f"chunk must be 1..{BATCH_LIMIT}")
    raw = [with_event_id(e) for e in events]
    calls = [
        Call("POST", "/v1/events/batch", {"events": raw[i : i + chunk]}, retry=True, loc_offset=i)
        for i in range(0, len(raw), chunk)
    ]
    return Plan(calls, _merge_batches)


def merge_partial(plan: Plan, results: list[Any]) -> Any:
    """What the calls that succeeded returned, for an error raised by a later call."""
    return plan.combine(results) if results and plan.combine is _merge_batches else None


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


# A field left out of an upsert is left alone; None is sent as null, which clears it.
UNSET: Any = _Unset()


def upsert_contact(
    contact_id: str, email: Any, phone: Any, attributes: Any, event_id: str | None
) -> Plan:
    body: dict[str, Any] = {"event_id": event_id or new_event_id()}
    for key, value in (("email", email), ("phone", phone), ("attributes", attributes)):
        if value is not UNSET:
            body[key] = dict(value) if isinstance(value, Mapping) else value
    return Plan([Call("PUT", f"/v1/contacts/{_seg(contact_id)}", body, retry=True)])


def get(path: str, **params: Any) -> Plan:
    return Plan([Call("GET", path, params=params or None, retry=True)])


def post(path: str, body: Any = None, *, retry: bool = False) -> Plan:
    return Plan([Call("POST", path, {} if body is None else body, retry=retry)])


def contact_path(contact_id: str, tail: str = "") -> str:
    return f"/v1/contacts/{_seg(contact_id)}{tail}"


def flow_path(flow_id: str, tail: str = "") -> str:
    return f"/v1/flows/{_seg(flow_id)}{tail}"


def mailing_path(mailing_id: str, tail: str = "") -> str:
    return f"/v1/mailings/{_seg(mailing_id)}{tail}"


def segment(value: str) -> str:
    """One path segment, slashes included (operation and event ids may hold some)."""
    return _seg(value)


def control_journey(
    contact_id: str, flow_id: str | None, action: str, reason: str | None = None
) -> Plan:
    """Pausing, resuming or stopping twice does no harm, so these are retried."""
    tail = f"/journeys/{_seg(flow_id)}/{action}" if flow_id else f"/journeys/{action}"
    body = {"reason": reason} if reason is not None else {}
    return post(contact_path(contact_id, tail), body, retry=True)


def dead_letter_path(event_id: str, tail: str) -> str:
    return f"/v1/dispatch/dead-letters/{_seg(event_id)}{tail}"


def publish_body(enroll_existing: bool | None, rate_per_second: float | None) -> dict:
    return {"enroll_existing": enroll_existing, "rate_per_second": rate_per_second}


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter, for calls marked `retry` only."""

    retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({500, 502, 503, 504}))

    def delays(self, call: Call, jitter: Callable[[], float]) -> Iterable[float]:
        yield 0.0
        for attempt in range(self.retries if call.retry else 0):
            yield min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + jitter() / 2)
