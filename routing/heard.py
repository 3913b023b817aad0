"""What a journey is sent of the events the router delivers, and which of a contact's
events a journey does not hear: its own sends and contact changes, which its steps
already know of."""

from domain.change_ids import journey_origin, made_by
from domain.events import ContactEvent, EventType

# Temporal refuses a payload over 2 MB. Journeys are sent little of an event (see
# for_journey) and the edge refuses big events, but one stored before that limit (a
# custom event with a huge name) must not be retried forever: it becomes a dead letter.
MAX_SIGNAL_PAYLOAD_BYTES = 1_500_000


def for_journey(event: ContactEvent) -> ContactEvent:
    """What a journey is sent of an event: ids, type and time, and a custom event's name
    (wait-for-event matches on it); never the rest of the payload. Form fields, addresses
    and message bodies stay in the event store, where activities read them by id, so
    Temporal's history holds as little personal data as possible (and that encrypted)."""
    payload = (
        {"name": event.payload["name"]}
        if event.type == "custom" and "name" in event.payload
        else {}
    )
    return event.model_copy(update={"payload": payload})


def sent_by(workflow_id: str, enrollment_id: str, event: ContactEvent) -> bool:
    """The message.sent of a journey's own send (its ledger key starts with the journey's
    workflow and enrollment ids, domain.journey.idempotency_key). The journey is not
    signalled with it: its step already knows the send went out, and the signal cost a
    workflow task per send; after the last step it landed while the journey completed,
    which the server refuses (a failed workflow task in every such history, and the run
    replayed from the start). Other journeys of the contact still hear it; a key folded
    into a digest may not match, and then the journey hears it, as before."""
    if event.type != EventType.MESSAGE_SENT:
        return False
    key = event.payload.get("message_key")
    return isinstance(key, str) and key.startswith(f"{workflow_id}/{enrollment_id}/")


def made_by_itself(workflow_id: str, enrollment_id: str, event: ContactEvent) -> bool:
    """A contact change the journey appended itself, with its origin in the event id
    (domain.change_ids): it took the event into its inbox already, so a signal would
    only cost a workflow task (and one the server refuses when it lands as the journey
    completes). Journeys that do not mark their changes still hear them."""
    return made_by(journey_origin(workflow_id, enrollment_id), event.event_id)


def its_own(workflow_id: str, enrollment_id: str, event: ContactEvent) -> bool:
    """An event the journey run (workflow id, enrollment) made itself and is not sent,
    whichever way the router would reach it: signalled as one of the contact's journeys,
    or as the running journey of a flow the event triggers."""
    return sent_by(workflow_id, enrollment_id, event) or made_by_itself(
        workflow_id, enrollment_id, event
    )
