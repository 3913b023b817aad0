"""Which new events need a dispatch record: those that can reach a journey. Shared by
the ingest path (routing/ingestion.py) and bulk writers of engine events (mailings)."""

from domain.events import ContactEvent
from projections import dispatches, engine_flags
from projections import journey_index as index
from projections.dialect import lock_contacts
from projections.event_store import Routable


def routable(trigger_types: set[str]) -> Routable:
    """Only events that can reach a journey get a dispatch record: a published flow is
    triggered by their type, or their contact is in a journey, or has an earlier event
    still to be routed (which may be starting one now: its record is removed only once
    it has been routed, so this check inside the append's transaction cannot miss it).
    Most events reach nobody; they cost no record and no routing."""

    def pick(conn, appended: list[ContactEvent]) -> list[ContactEvent]:
        contacts = {e.contact_id for e in appended}
        # Concurrent appends for one contact take turns (PostgreSQL; SQLite's writer
        # lock does this already), so each sees the other's committed records.
        lock_contacts(conn, contacts)
        # Pending records first: the router commits its claim on the index before it
        # deletes the record that caused it, so between the two reads nothing slips by.
        if engine_flags.is_set(conn, engine_flags.JOURNEY_INDEX_INCOMPLETE):
            return appended  # journeys from before the index may be missing from it
        pending = dispatches.contacts_pending(conn, contacts)
        reachable = pending | index.contacts_in_journeys(conn, contacts)
        chosen = []
        for event in appended:  # store order: a contact's later events follow its first
            if event.contact_id in reachable or event.type in trigger_types:
                reachable.add(event.contact_id)
                chosen.append(event)
        return chosen

    return pick
