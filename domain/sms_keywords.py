"""Opt-out and opt-in keywords in inbound SMS, whatever brought the text in (Twilio's
webhook, POST /v1/events, an import): the store derives the contact's `unsubscribed` or
`resubscribed` event from the `sms.received` itself, so no way in can skip a STOP."""

import hashlib
import re
from collections.abc import Collection

from domain.event_payloads import EventType
from domain.events import ContactEvent

# Twilio's (and the CTIA's / FCC's) keywords, matched on the whole message,
# case-insensitively, as carriers do: "stop" opts out, "please stop" does not.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
_KEYWORDS = (("STOP", STOP_WORDS), ("START", START_WORDS), ("HELP", HELP_WORDS))
_MAX_EVENT_ID = 200


def keyword(body: str, opt_out_type: str | None = None) -> str | None:
    """STOP, START, HELP or None. With Advanced Opt-Out, Twilio classifies custom
    keywords itself and says so (`opt_out_type`); that wins."""
    if opt_out_type and opt_out_type.upper() in ("STOP", "START", "HELP"):
        return opt_out_type.upper()
    word = re.sub(r"[\s.!]+$", "", body.strip()).upper()
    return next((name for name, words in _KEYWORDS if word in words), None)


def opting_in(batch: list[ContactEvent]) -> set[str]:
    """Contacts whose reply in the batch is an opt-in keyword."""
    return {e.contact_id for e in batch if _said(e) == "START"}


def with_consequences(batch: list[ContactEvent],
                      sms_opted_out: Collection[str] = ()) -> list[ContactEvent]:
    """The batch with each STOP reply followed by the contact's SMS unsubscribe, and each
    START (or YES) from a contact in `sms_opted_out` by the resubscribe: from anyone else
    a "yes" is only an answer. The derived event's id comes from the reply's, so a
    redelivered reply derives nothing new."""
    out: list[ContactEvent] = []
    for event in batch:
        out.append(event)
        said = _said(event)
        if said == "START" and event.contact_id not in sms_opted_out:
            continue
        change = {"STOP": ("unsubscribed", EventType.UNSUBSCRIBED),
                  "START": ("resubscribed", EventType.RESUBSCRIBED)}.get(said or "")
        if change:
            suffix, event_type = change
            out.append(event.model_copy(update={
                "event_id": derived_id(event.event_id, suffix), "type": event_type,
                "payload": {"channel": "sms"}}))
    return out


def _said(event: ContactEvent) -> str | None:
    if event.type != EventType.SMS_RECEIVED:
        return None
    return keyword(str(event.payload.get("body", "")), event.payload.get("opt_out_type"))


def derived_id(event_id: str, suffix: str) -> str:
    joined = f"{event_id}:{suffix}"
    if len(joined) <= _MAX_EVENT_ID:
        return joined
    return f"derived:{hashlib.sha256(joined.encode()).hexdigest()}:{suffix}"
