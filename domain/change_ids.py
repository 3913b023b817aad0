"""The ids of the events a journey's own steps append (tag steps, contact changes, its
conversion), and how the router tells a journey's own events from others.

An id derives from the step run's idempotency key, so a retried append is a no-op.
A journey that takes its own changes into its inbox (journey-patches-v11) sends an
`origin` with the request, and the id starts with it: the router then does not signal
that journey with what it made itself (a signal and a workflow task per change, and,
after the last step, a task the server refuses because it landed as the journey
completed). Every other journey of the contact still hears the event. A step run an
older journey began unmarked and that runs again marked (or the reverse) keeps the
events of whichever attempt stored first: the activities find a run's events in either
form by the digest both hold (run_digest), so no change is made twice. Ids are digests:
workflow ids name the contact, and event ids are shown to API users."""

from __future__ import annotations

from uuid import NAMESPACE_URL, uuid5

# Only journeys write events under it: the edge refuses it (domain.events.parse_event),
# or an event sent in could pass for a journey's own and not reach it.
JOURNEY_EVENT_PREFIX = "journey:"
_PREFIX = JOURNEY_EVENT_PREFIX


def journey_origin(workflow_id: str, enrollment_id: str) -> str:
    """What marks one journey run's changes (a digest of its workflow and enrollment)."""
    return str(uuid5(NAMESPACE_URL, f"{workflow_id}/{enrollment_id}"))


def run_digest(idempotency_key: str) -> str:
    """What every id of one step run holds, marked or not (projections.change_state
    finds a run's events by it, whichever form an earlier attempt wrote)."""
    return str(uuid5(NAMESPACE_URL, idempotency_key))


def _run_part(idempotency_key: str, origin: str | None) -> str:
    digest = run_digest(idempotency_key)
    return f"{_PREFIX}{origin}.{digest}" if origin else f"{_PREFIX}{digest}"


def change_event_id(idempotency_key: str, origin: str | None = None) -> str:
    """The one event of a tag step or a conversion (change_contact)."""
    return _run_part(idempotency_key, origin)


def change_prefix(idempotency_key: str, origin: str | None = None) -> str:
    """What every event of one contact-change step run starts with; it finds the run's
    events again on a retry (projections.change_state.stored_run)."""
    return f"{_run_part(idempotency_key, origin)}/"


def indexed_change_event_id(idempotency_key: str, index: int, origin: str | None = None) -> str:
    """The index-th event of a contact-change step run."""
    return f"{change_prefix(idempotency_key, origin)}{index}"


def made_by(origin: str, event_id: str) -> bool:
    """Whether the journey run marked `origin` appended this event itself."""
    return event_id.startswith(f"{_PREFIX}{origin}.")
