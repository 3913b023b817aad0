"""What the call-out activities (webhook, phone call, notify team, run script) share:
rendering merge tags all-or-nothing, event ids derived from the step's idempotency key
so a retried activity appends nothing new, and the delivery core's results
(activities/delivery.py) as their ActionOutcome."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from activities.delivery import Delivered, Skip
from domain.conditions import ContactSnapshot
from domain.contracts.actions import ActionOutcome
from domain.events import ContactEvent
from domain.merge_tags import MergeTagError, contact_context, max_chars_for, render
from domain.steps.base import StepBase

SOURCE = "dripstone.journey"


def render_all(
    contact: ContactSnapshot, step: StepBase, fields: Mapping[str, str]
) -> list[str] | ActionOutcome:
    """The step's `fields` (field name: template, names as validation gives them, e.g.
    "url", "headers.X-Token") rendered in order, each held to what that field may send
    (merge_tags.max_chars_for). Every template or none: a missing merge value, or one
    that renders too much, skips the step with the reason rather than sending a
    half-rendered request or the raw placeholder."""
    context = contact_context(contact.contact_id, contact.email, contact.phone, contact.attributes)
    channel = getattr(step, "channel", None)
    try:
        return [
            render(template, context, max_chars=max_chars_for(step.kind, field, channel))
            for field, template in fields.items()
        ]
    except MergeTagError as exc:
        return ActionOutcome(status="skipped", reason=str(exc), reason_code="merge_value")


def event_id(prefix: str, idempotency_key: str) -> str:
    # Keys can be long and contain characters event ids refuse; a uuid5 is stable.
    return f"{prefix}:{uuid5(NAMESPACE_URL, idempotency_key)}"


def step_event(
    prefix: str, idempotency_key: str, contact_id: str, event_type: str, payload: dict[str, Any]
) -> ContactEvent:
    event = ContactEvent(
        event_id=event_id(prefix, idempotency_key),
        type=event_type,
        contact_id=contact_id,
        occurred_at=datetime.now(UTC),
        source=SOURCE,
        payload=payload,
    )
    event.typed_payload()  # a payload the store would refuse is a bug here, not later
    return event


def skipped(skip: Skip) -> ActionOutcome:
    return ActionOutcome(status="skipped", reason=skip.reason, reason_code=skip.reason_code)


def done(delivered: Delivered) -> ActionOutcome:
    """A call-out's delivery as its outcome. No address in it: results sit in the
    journey's history."""
    data: dict[str, Any] = {"provider_message_id": delivered.provider_message_id}
    return ActionOutcome(
        status="done", data={"duplicate": True, **data} if delivered.duplicate else data
    )
