"""Stored event rows back into events (shared by the store and the dispatch records)."""

from domain.events import ContactEvent


def row_to_event(row) -> ContactEvent:
    return ContactEvent(
        event_id=row.event_id,
        type=row.type,
        schema_version=row.schema_version,
        contact_id=row.contact_id,
        occurred_at=row.occurred_at,
        source=row.source,
        payload=row.payload,
    )
