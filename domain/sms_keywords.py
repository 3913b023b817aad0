"""Opt-out and opt-in keywords in inbound SMS, whatever brought the text in (Twilio's
webhook, POST /v1/events, an import): the store derives the contact's `unsubscribed` or
`resubscribed` event from the `sms.received` itself, so no way in can skip a STOP."""

import hashlib
import string
from collections.abc import Collection

from domain.event_payloads import EventType
from domain.events import ContactEvent

# Twilio's (and the CTIA's / FCC's) keywords, matched on the whole message,
# case-insensitively, as carriers do: "stop" opts out, "please stop" does not.
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
)
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
_KEYWORDS = (("STOP", STOP_WORDS), ("START", START_WORDS), ("HELP", HELP_WORDS))
_MAX_EVENT_ID = 200
_LONGEST_KEYWORD_MESSAGE = 64
_TRAILING = string.whitespace + ".!"


def keyword(body: str, opt_out_type: str | None = None) -> str | None:
    """STOP, START, HELP or None. With Advanced Opt-Out, Twilio classifies custom
    keywords itself and says so (`opt_out_type`); that wins."""
    if opt_out_type and opt_out_type.upper() in ("STOP", "START", "HELP"):
        return opt_out_type.upper()
    if len(body) > _LONGEST_KEYWORD_MESSAGE:  # a keyword is the whole message
        return None
    word = body.strip().rstrip(_TRAILING).upper()
    return next((name for name, words in _KEYWORDS if word in words), None)


def opting_in(replies: list[ContactEvent]) -> set[str]:
    """Contacts with an opt-in keyword among `replies`."""
    return {e.contact_id for e in replies if _said(e) == "START"}


def consequences(
    replies: list[ContactEvent], sms_opted_out: Collection[str] = ()
) -> list[ContactEvent]:
    """The subscription changes newly stored replies mean, in their order: a STOP
    unsubscribes the contact from SMS; a START (or YES) resubscribes one who is opted
    out (`sms_opted_out` before these replies, then as they go); from anyone else a
    "yes" is only an answer. Ids derive from the reply's, so each is stored once."""
    opted_out = set(sms_opted_out)
    derived: list[ContactEvent] = []
    for event in replies:
        said = _said(event)
        if said == "STOP":
            opted_out.add(event.contact_id)
            suffix, event_type = "unsubscribed", EventType.UNSUBSCRIBED
        elif said == "START" and event.contact_id in opted_out:
            opted_out.discard(event.contact_id)
            suffix, event_type = "resubscribed", EventType.RESUBSCRIBED
        else:
            continue
        derived.append(
            event.model_copy(
                update={
                    "event_id": derived_id(event.event_id, suffix),
                    "type": event_type,
                    "payload": {"channel": "sms"},
                }
            )
        )
    return derived


def _said(event: ContactEvent) -> str | None:
    if event.type != EventType.SMS_RECEIVED:
        return None
    return keyword(str(event.payload.get("body", "")), event.payload.get("opt_out_type"))


def derived_id(event_id: str, suffix: str) -> str:
    joined = f"{event_id}:{suffix}"
    if len(joined) <= _MAX_EVENT_ID:
        return joined
    return f"derived:{hashlib.sha256(joined.encode()).hexdigest()}:{suffix}"
