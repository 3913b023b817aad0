"""The contact itself: existence and first/last event, profile fields and tags."""

from typing import Any

from sqlalchemy import Connection, select

from domain.events import ContactEvent
from projections.dialect import greatest, insert, least
from projections.projectors.common import upsert_latest
from projections.schema import contact_attributes, contact_tags, contacts

# Form fields that land on the contact record itself rather than in attributes.
_CONTACT_COLUMNS = ("email", "phone")


def touch_contact(conn: Connection, event: ContactEvent) -> None:
    """Every event implies the contact exists; created_at is its earliest event."""
    statement = insert(conn, contacts).values(
        contact_id=event.contact_id, created_at=event.occurred_at, last_event_at=event.occurred_at,
    )
    conn.execute(statement.on_conflict_do_update(
        index_elements=["contact_id"],
        set_={
            "created_at": least(conn, contacts.c.created_at, statement.excluded.created_at),
            "last_event_at": greatest(conn, contacts.c.last_event_at, statement.excluded.last_event_at),
        },
    ))


def contact_changed(conn: Connection, event: ContactEvent) -> None:
    payload = event.payload
    _set_fields(conn, event, {**payload.get("attributes", {}),
                              **{k: payload[k] for k in _CONTACT_COLUMNS if k in payload}})


def form_fields(conn: Connection, event: ContactEvent) -> None:
    _set_fields(conn, event, event.payload.get("fields", {}))


def tag_added(conn: Connection, event: ContactEvent) -> None:
    upsert_latest(conn, contact_tags, event, {"tag": event.payload["tag"]}, {"present": True})


def tag_removed(conn: Connection, event: ContactEvent) -> None:
    upsert_latest(conn, contact_tags, event, {"tag": event.payload["tag"]}, {"present": False})


def _set_fields(conn: Connection, event: ContactEvent, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        upsert_latest(conn, contact_attributes, event, {"name": name}, {"value": value})
        if name in _CONTACT_COLUMNS:
            _sync_contact_column(conn, event.contact_id, name)


def _sync_contact_column(conn: Connection, contact_id: str, name: str) -> None:
    # email/phone also live as attributes so out-of-order updates resolve the same way;
    # the contacts columns mirror whichever value won.
    value = conn.execute(
        select(contact_attributes.c.value).where(
            contact_attributes.c.contact_id == contact_id, contact_attributes.c.name == name)
    ).scalar()
    conn.execute(contacts.update().where(contacts.c.contact_id == contact_id).values({name: value}))
