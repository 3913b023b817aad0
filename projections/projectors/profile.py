"""The contact itself: existence and first/last event, profile fields and tags."""

from typing import Any

from sqlalchemy import Connection, bindparam, select

from domain.events import ContactEvent
from projections.dialect import greatest, insert, json_text, least
from projections.projectors.common import upsert_latest
from projections.projectors.writes import Writes
from projections.schema import contact_attributes, contact_tags, contacts

# Form fields that land on the contact record itself rather than in attributes.
_CONTACT_COLUMNS = ("email", "phone")


def _touch_statement(conn: Connection):
    statement = insert(conn, contacts)
    return statement.on_conflict_do_update(
        index_elements=["contact_id"],
        set_={
            "created_at": least(conn, contacts.c.created_at, statement.excluded.created_at),
            "last_event_at": greatest(
                conn, contacts.c.last_event_at, statement.excluded.last_event_at
            ),
        },
    )


def touch_contact(w: Writes, event: ContactEvent) -> None:
    """Every event implies the contact exists; created_at is its earliest event."""
    w.add(
        "touch-contact",
        _touch_statement,
        {
            "contact_id": event.contact_id,
            "created_at": event.occurred_at,
            "last_event_at": event.occurred_at,
        },
    )


def contact_changed(w: Writes, event: ContactEvent) -> None:
    payload = event.payload
    _set_fields(
        w,
        event,
        {
            **payload.get("attributes", {}),
            **{k: payload[k] for k in _CONTACT_COLUMNS if k in payload},
        },
    )


def form_fields(w: Writes, event: ContactEvent) -> None:
    _set_fields(w, event, event.payload.get("fields", {}))


def tag_added(w: Writes, event: ContactEvent) -> None:
    upsert_latest(w, contact_tags, event, {"tag": event.payload["tag"]}, {"present": True})


def tag_removed(w: Writes, event: ContactEvent) -> None:
    upsert_latest(w, contact_tags, event, {"tag": event.payload["tag"]}, {"present": False})


def _set_fields(w: Writes, event: ContactEvent, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        upsert_latest(w, contact_attributes, event, {"name": name}, {"value": value})
        if name in _CONTACT_COLUMNS:
            # email/phone also live as attributes so out-of-order updates resolve the
            # same way; the contacts columns mirror whichever value won, read once the
            # whole batch's attribute writes are in.
            w.add_finally(
                ("mirror-contact-column", name),
                _mirror_statement(name),
                {"p_contact_id": event.contact_id},
            )


def _mirror_statement(name: str):
    def build(conn: Connection):
        contact_id = bindparam("p_contact_id")
        winner = (
            select(json_text(conn, contact_attributes.c.value))
            .where(contact_attributes.c.contact_id == contact_id, contact_attributes.c.name == name)
            .scalar_subquery()
        )
        return contacts.update().where(contacts.c.contact_id == contact_id).values({name: winner})

    return build
