"""What journeys record about themselves: conversions (goals met)."""

from domain.events import ContactEvent
from projections.projectors.common import insert_once
from projections.projectors.writes import Writes
from projections.schema import journey_conversions


def converted(w: Writes, event: ContactEvent) -> None:
    # Keyed by journey and enrollment: a conversion is counted once however often its
    # event is redelivered (the event id already makes that so; this is the read side).
    payload = event.payload
    insert_once(
        w,
        journey_conversions,
        {
            "journey_id": payload["journey_id"],
            "enrollment_id": payload["enrollment_id"],
            "flow_id": payload["flow_id"],
            "flow_version": payload["flow_version"],
            "contact_id": event.contact_id,
            "goal_step": payload["goal_step"],
            "step_id": payload.get("step_id"),
            "converted_at": event.occurred_at,
        },
    )
