"""What the call-out activities (webhook, phone call, notify team, run script) share:
loading the contact, rendering merge tags all-or-nothing, and event ids derived from
the step's idempotency key so a retried activity appends nothing new."""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import structlog
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError

from activities import ledger
from domain.contracts.actions import ActionOutcome
from activities.ports import ProviderRejected, ProviderUnavailable
from domain.conditions import ContactSnapshot
from domain.events import ContactEvent
from domain.merge_tags import MergeTagError, contact_context, max_chars_for, render
from domain.steps.base import StepBase
from projections.contacts import load_snapshot

SOURCE = "dripstone.journey"
log = structlog.get_logger("dripstone.callouts")


def load_contact(engine: Engine, contact_id: str) -> ContactSnapshot:
    with engine.connect() as conn:
        # Merge tags read the profile only (email, phone, attributes).
        contact = load_snapshot(conn, contact_id, {"attributes"})
    if contact is None:
        raise ApplicationError(f"contact {contact_id!r} is unknown", non_retryable=True,
                               type="UnknownContact")
    return contact


def render_all(contact: ContactSnapshot, step: StepBase,
               fields: Mapping[str, str]) -> list[str] | ActionOutcome:
    """The step's `fields` (field name: template, names as validation gives them, e.g.
    "url", "headers.X-Token") rendered in order, each held to what that field may send
    (merge_tags.max_chars_for). Every template or none: a missing merge value, or one
    that renders too much, skips the step with the reason rather than sending a
    half-rendered request or the raw placeholder."""
    context = contact_context(contact.contact_id, contact.email, contact.phone, contact.attributes)
    channel = getattr(step, "channel", None)
    try:
        return [render(template, context, max_chars=max_chars_for(step.kind, field, channel))
                for field, template in fields.items()]
    except MergeTagError as exc:
        return ActionOutcome(status="skipped", reason=str(exc), reason_code="merge_value")


def event_id(prefix: str, idempotency_key: str) -> str:
    # Keys can be long and contain characters event ids refuse; a uuid5 is stable.
    return f"{prefix}:{uuid5(NAMESPACE_URL, idempotency_key)}"


def step_event(prefix: str, idempotency_key: str, contact_id: str, event_type: str,
               payload: dict[str, Any]) -> ContactEvent:
    event = ContactEvent(event_id=event_id(prefix, idempotency_key), type=event_type,
                         contact_id=contact_id, occurred_at=datetime.now(UTC), source=SOURCE,
                         payload=payload)
    event.typed_payload()  # a payload the store would refuse is a bug here, not later
    return event


def deliver_once(engine: Engine, key: str, channel: str, contact_id: str, to: str,
                 flow_id: str, step_id: str, send: Callable[[], str | None],
                 find_sent: Callable[[str], tuple[bool, str | None]],
                 provider: str) -> ActionOutcome:
    """The message ledger around one provider call, as send_email does it: claim the key,
    ask the provider about an uncertain earlier attempt, call, record the result and
    message.sent together. A retry after a recorded send returns without sending."""
    claim = ledger.claim(engine, key, channel, contact_id)
    if claim.already_sent:
        # No address in a result: results sit in the journey's history.
        return ActionOutcome(status="done", data={"duplicate": True,
                                                  "provider_message_id": claim.provider_message_id})
    provider_id = None
    if claim.retry:
        known, provider_id = find_sent(key)
        if not known:
            ledger.count_uncertain_retry(engine, key)
            log.warning("send.uncertain_retry", key=key, provider=provider)
    if provider_id is None:
        try:
            provider_id = send()
        except ProviderRejected as exc:
            ledger.record_failed(engine, key, str(exc))
            raise ApplicationError(str(exc), non_retryable=True, type="ProviderRejected") from None
        except ProviderUnavailable as exc:
            # "Not now" means nothing went out: the next attempt is a plain retry.
            ledger.record_not_sent(engine, key, str(exc))
            delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
            raise ApplicationError(str(exc), type="ProviderUnavailable", next_retry_delay=delay) from None
    ledger.record_sent(engine, key, provider_id, ledger.sent_event(
        key, contact_id, channel, to, flow_id, step_id, provider_id))
    return ActionOutcome(status="done", data={"provider_message_id": provider_id})
