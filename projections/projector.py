"""The one projector: applies an event to every read model, exactly once (the caller
only applies events whose append was new) and order-independently (last writer by
occurred_at wins), so `rebuild` from the store gives the same read models."""

from typing import Any

from sqlalchemy import Connection, Table, select

from domain.events import ContactEvent, EventType
from projections.dialect import greatest, insert, least
from projections.schema import contact_attributes, contact_tags, contacts, sent_messages

# Form fields that land on the contact record itself rather than in attributes.
_CONTACT_COLUMNS = ("email", "phone")


def apply(conn: Connection, event: ContactEvent) -> None:
    _touch_contact(conn, event)
    payload = event.payload
    match event.type:
        case EventType.CONTACT_CREATED | EventType.CONTACT_UPDATED:
            _set_fields(conn, event, {**payload.get("attributes", {}),
                                      **{k: payload[k] for k in _CONTACT_COLUMNS if k in payload}})
        case EventType.FORM_SUBMITTED:
            _set_fields(conn, event, payload.get("fields", {}))
        case EventType.TAG_ADDED:
            _set_tag(conn, event, payload["tag"], present=True)
        case EventType.TAG_REMOVED:
            _set_tag(conn, event, payload["tag"], present=False)
        case EventType.MESSAGE_SENT:
            conn.execute(
                insert(conn, sent_messages).values(
                    message_key=payload["message_key"], contact_id=event.contact_id,
                    channel=payload["channel"], flow_id=payload.get("flow_id"),
                    step_id=payload.get("step_id"), to_address=payload["to"],
                    provider_message_id=payload.get("provider_message_id"),
                    sent_at=event.occurred_at,
                ).on_conflict_do_nothing(index_elements=["message_key"])
            )


def _touch_contact(conn: Connection, event: ContactEvent) -> None:
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


def _set_fields(conn: Connection, event: ContactEvent, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        _upsert_latest(conn, contact_attributes, event, {"name": name}, {"value": value})
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


def _set_tag(conn: Connection, event: ContactEvent, tag: str, *, present: bool) -> None:
    _upsert_latest(conn, contact_tags, event, {"tag": tag}, {"present": present})


def _upsert_latest(conn: Connection, table: Table, event: ContactEvent, key: dict[str, Any],
                   values: dict[str, Any]) -> None:
    """Write `values` unless the row already holds a change that occurred later: the
    last writer by occurred_at wins, whatever order the events were recorded in."""
    statement = insert(conn, table).values(
        contact_id=event.contact_id, changed_at=event.occurred_at, **key, **values)
    conn.execute(statement.on_conflict_do_update(
        index_elements=["contact_id", *key],
        set_={name: statement.excluded[name] for name in (*values, "changed_at")},
        where=table.c.changed_at <= statement.excluded.changed_at,
    ))
