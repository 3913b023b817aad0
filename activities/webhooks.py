"""call_webhook: the webhook step through httpx [000, 002].

Exactly once, as far as HTTP allows: every attempt carries the same Idempotency-Key
header (the step's key), so a receiver can drop a repeat; and once a final answer has
been recorded as a webhook.responded event, a retried activity returns it without
calling again. Retrying is the activity retry policy's job (journey SEND_RETRY): 5xx,
timeouts and network errors raise retryable errors, 429/503 pass their Retry-After on
as next_retry_delay, and any other 4xx is final (ProviderRejected).
"""

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import structlog
from sqlalchemy import Engine, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.actions import step_of
from activities.callouts import event_id, render_all, step_event
from activities.delivery import load_contact
from activities.webhook_targets import GuardedTransport, Resolver, TargetRefused, system_resolver
from domain.contracts.actions import ActionOutcome, ActionRequest
from domain.events import EventType
from domain.steps.messaging import Webhook
from projections.event_store import ingest_for_dispatch
from projections.schema import events

log = structlog.get_logger("dripstone.webhooks")

SIGNATURE_HEADER = "X-Dripstone-Signature"
TIMESTAMP_HEADER = "X-Dripstone-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_STORED_BODY = 4096  # characters of the response kept for conditions
MAX_READ_BODY = 64 * 1024  # bytes read at most, so a huge answer cannot fill memory
# The journey gives the activity 60 s per attempt; the request must end before that so
# a slow receiver is a clean, retryable timeout rather than an activity timeout.
MAX_REQUEST_SECONDS = 50.0
MAX_RETRY_AFTER = timedelta(hours=1)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """sha256=<hex> over "<timestamp>." + body: the timestamp is signed with the body so
    a receiver can refuse a replayed request whose signature is otherwise valid."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


class WebhookActivities:
    def __init__(
        self,
        engine: Engine,
        signing_secret: str | None = None,
        allow_private_targets: bool = False,
        resolver: Resolver = system_resolver,
    ):
        self.engine = engine
        self.signing_secret = signing_secret
        self.allow_private_targets = allow_private_targets
        self.resolver = resolver

    @activity.defn(name="call_webhook")
    def call_webhook(self, request: ActionRequest) -> ActionOutcome:
        step = step_of(request, Webhook, "call_webhook")
        answered = self._recorded_answer(request.idempotency_key)
        if answered is not None:
            return answered
        if not step.url.strip() or "{" in urlsplit(step.url).netloc:
            # Flow validation refuses these; a flow published before that check must
            # still never let a contact's data choose the host.
            raise ApplicationError(
                f"webhook URL {step.url!r} needs a literal http(s) host",
                non_retryable=True,
                type="TargetRefused",
            )
        contact = load_contact(self.engine, request.contact_id)
        header_names = list(step.headers)
        rendered = render_all(
            contact,
            step,
            {
                "url": step.url,
                "body": step.body or "",
                **{f"headers.{name}": step.headers[name] for name in header_names},
            },
        )
        if isinstance(rendered, ActionOutcome):
            return rendered
        url, body, *header_values = rendered
        headers = self._headers(request, dict(zip(header_names, header_values, strict=False)), body)
        response = self._send(step, url, headers, body.encode() if step.body is not None else b"")
        return self._answer(request, step, url, response)

    def _headers(self, request: ActionRequest, step_headers: dict[str, str], body: str) -> dict:
        # The step cannot set the headers that prove who sent the request and which one.
        reserved = {IDEMPOTENCY_HEADER.lower(), SIGNATURE_HEADER.lower(), TIMESTAMP_HEADER.lower()}
        headers = {
            "User-Agent": "dripstone-webhooks",
            **{k: v for k, v in step_headers.items() if k.lower() not in reserved},
            IDEMPOTENCY_HEADER: request.idempotency_key,
        }
        if body and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = (
                "application/json" if _is_json(body) else "text/plain; charset=utf-8"
            )
        if self.signing_secret:
            # A fresh timestamp per attempt: each attempt is signed when it is sent.
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(self.signing_secret, timestamp, body.encode())
        return headers

    def _send(self, step: Webhook, url: str, headers: dict, body: bytes) -> tuple[int, str, bool]:
        transport = GuardedTransport(self.allow_private_targets, self.resolver)
        # trust_env=False: a proxy from the environment would connect on our behalf to
        # an address the guard never saw. Redirects are not followed for the same reason.
        timeout = httpx.Timeout(min(step.timeout_seconds, MAX_REQUEST_SECONDS))
        try:
            with httpx.Client(
                transport=transport, timeout=timeout, trust_env=False, follow_redirects=False
            ) as client:
                with client.stream(
                    step.method, url, headers=headers, content=body or None
                ) as reply:
                    return _settle(reply)
        except TargetRefused as exc:
            raise ApplicationError(str(exc), non_retryable=True, type="TargetRefused") from None
        except httpx.TimeoutException as exc:
            raise ApplicationError(
                f"webhook timed out after {timeout.read}s: {type(exc).__name__}",
                type="WebhookUnavailable",
            ) from None
        except httpx.TransportError as exc:
            raise ApplicationError(
                f"webhook unreachable: {exc}", type="WebhookUnavailable"
            ) from None

    def _answer(
        self, request: ActionRequest, step: Webhook, url: str, response: tuple[int, str, bool]
    ) -> ActionOutcome:
        status, text, truncated = response
        # The final answer, 2xx or 4xx, is stored so a later condition can branch on it.
        event = step_event(
            "webhook",
            request.idempotency_key,
            request.contact_id,
            EventType.WEBHOOK_RESPONDED,
            {
                "flow_id": request.flow_id,
                "step_id": request.step_id,
                "url": _without_query(url),
                "status": status,
                "body": text,
                "truncated": truncated,
                "json": _parsed(text, truncated),
            },
        )
        ingest_for_dispatch(self.engine, [event])
        log.info(
            "webhook.responded", step_id=request.step_id, status=status, key=request.idempotency_key
        )
        if 400 <= status < 500:
            raise ApplicationError(
                f"webhook answered {status}: {text[:300]}",
                non_retryable=True,
                type="ProviderRejected",
            )
        return ActionOutcome(status="done", data={"status": status, "event_id": event.event_id})

    def _recorded_answer(self, key: str) -> ActionOutcome | None:
        """A final answer already stored: an earlier attempt got through, so do not call
        again (its completion was lost, e.g. the worker died right after the append)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(events.c.event_id, events.c.payload).where(
                    events.c.event_id == event_id("webhook", key)
                )
            ).first()
        if row is None:
            return None
        status = row.payload["status"]
        if 400 <= status < 500:
            raise ApplicationError(
                f"webhook answered {status}", non_retryable=True, type="ProviderRejected"
            )
        return ActionOutcome(
            status="done", data={"status": status, "event_id": row.event_id, "duplicate": True}
        )


def _settle(reply: httpx.Response) -> tuple[int, str, bool]:
    """Read a bounded body; raise for answers worth retrying."""
    raw = bytearray()
    for chunk in reply.iter_bytes():
        raw.extend(chunk)
        if len(raw) >= MAX_READ_BODY:
            break
    text = bytes(raw).decode(reply.encoding or "utf-8", "replace")
    status = reply.status_code
    if status in (408, 425, 429) or status >= 500:
        delay = _retry_after(reply.headers.get("Retry-After")) if status in (429, 503) else None
        raise ApplicationError(
            f"webhook answered {status}: {text[:300]}",
            type="WebhookUnavailable",
            next_retry_delay=delay,
        )
    truncated = len(text) > MAX_STORED_BODY or len(raw) >= MAX_READ_BODY
    return status, text[:MAX_STORED_BODY], truncated


def _retry_after(value: str | None) -> timedelta | None:
    """Retry-After is seconds or an HTTP date; anything unreadable falls back to backoff."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            delay = parsedate_to_datetime(value) - datetime.now(UTC)
        except (TypeError, ValueError):
            return None
    return max(timedelta(seconds=1), min(delay, MAX_RETRY_AFTER))


def _is_json(body: str) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _parsed(text: str, truncated: bool) -> Any:
    """The answer as JSON, so conditions can branch on its fields; None when it is not
    JSON or was cut short (half a document would parse wrong or not at all)."""
    if truncated or not text.strip():
        return None
    try:
        # NaN and Infinity are not JSON, and the store's JSON columns refuse them.
        return json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):  # deep nesting: not worth failing the step for
        return None


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))
