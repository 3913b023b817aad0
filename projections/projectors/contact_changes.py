"""What journeys' contact changes project into: offers, memberships, list membership,
notes, CRM activities, orders, transactions and lead-router assignments.

Order-independence as elsewhere: states are last writer by occurred_at (upsert_latest),
one-off records are inserted once per event id. Orders and transactions also have
details (product, amount...) that only some of their events carry; those are written
by a statement of their own that never touches the status, so a cancellation projected
before its order still ends with both the order's details and the newest status."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, or_

from domain.contact_change_payloads import ChangeEvent as C
from domain.events import ContactEvent
from projections.change_schema import (
    contact_notes,
    contact_offers,
    crm_activities,
    lead_assignments,
    list_memberships,
    memberships,
    orders,
    transactions,
)
from projections.dialect import insert
from projections.projectors.common import insert_once, upsert_latest
from projections.projectors.writes import Writes
from projections.schema import contact_attributes


def _at(value: str | None) -> datetime | None:
    # Payloads are stored as JSON, so their datetimes come back as ISO text.
    return datetime.fromisoformat(value) if value else None


def offer_set(w: Writes, event: ContactEvent) -> None:
    p = event.payload
    key = {"product": p["product"]}
    upsert_latest(w, contact_offers, event, key, {"active": True})
    terms = {
        "discount_percent": p.get("discount_percent"),
        "discount_amount": p.get("discount_amount"),
        "expires_at": _at(p.get("expires_at")),
    }
    w.add(
        ("offer-terms",),
        _terms_statement,
        {
            "contact_id": event.contact_id,
            **key,
            **terms,
            "active": True,
            "changed_at": event.occurred_at,
            "terms_changed_at": event.occurred_at,
        },
    )


def _terms_statement(conn: Connection):
    # The terms' own last-writer guard; `active` is left to upsert_latest's.
    t = contact_offers
    statement = insert(conn, t)
    return statement.on_conflict_do_update(
        index_elements=["contact_id", "product"],
        set_={
            name: statement.excluded[name]
            for name in ("discount_percent", "discount_amount", "expires_at", "terms_changed_at")
        },
        where=or_(
            t.c.terms_changed_at.is_(None),
            t.c.terms_changed_at <= statement.excluded.terms_changed_at,
        ),
    )


def offer_removed(w: Writes, event: ContactEvent) -> None:
    upsert_latest(
        w, contact_offers, event, {"product": event.payload["product"]}, {"active": False}
    )


def membership_access_changed(w: Writes, event: ContactEvent) -> None:
    upsert_latest(
        w, memberships, event, {"site": event.payload["site"]}, {"access": event.payload["access"]}
    )


def added_to_list(w: Writes, event: ContactEvent) -> None:
    _list(w, event, member=True)


def removed_from_list(w: Writes, event: ContactEvent) -> None:
    _list(w, event, member=False)


def _list(w: Writes, event: ContactEvent, *, member: bool) -> None:
    key = {"list_type": event.payload["list_type"], "list_id": event.payload["list_id"]}
    upsert_latest(w, list_memberships, event, key, {"member": member})


def note_added(w: Writes, event: ContactEvent) -> None:
    p = event.payload
    insert_once(
        w,
        contact_notes,
        {
            "event_id": event.event_id,
            "contact_id": event.contact_id,
            "text": p["text"],
            "flow_id": p.get("flow_id"),
            "step_id": p.get("step_id"),
            "created_at": event.occurred_at,
        },
        unique="event_id",
    )


def crm_activity_created(w: Writes, event: ContactEvent) -> None:
    p = event.payload
    insert_once(
        w,
        crm_activities,
        {
            "activity_id": event.event_id,
            "contact_id": event.contact_id,
            "activity": p["activity"],
            "title": p["title"],
            "type": p.get("type"),
            "due_at": _at(p.get("due_at")),
            "assignee": p.get("assignee"),
            "status": p.get("status", "open"),
            "priority": p.get("priority", "normal"),
            "category": p.get("category"),
            "message": p.get("message"),
            "amount": p.get("amount"),
            "flow_id": p.get("flow_id"),
            "step_id": p.get("step_id"),
            "created_at": event.occurred_at,
        },
        unique="activity_id",
    )


def order_placed(w: Writes, event: ContactEvent) -> None:
    p = event.payload
    key = {"order_id": p["order_id"]}
    _details(
        w,
        orders,
        event,
        key,
        {
            "product": p["product"],
            "amount": p.get("amount"),
            "currency": p.get("currency"),
            "recurring": p.get("recurring", False),
        },
        status="open",
    )
    upsert_latest(w, orders, event, key, {"status": "open"})


def order_cancelled(w: Writes, event: ContactEvent) -> None:
    upsert_latest(
        w, orders, event, {"order_id": event.payload["order_id"]}, {"status": "cancelled"}
    )


def transaction_failed(w: Writes, event: ContactEvent) -> None:
    p = event.payload
    key = {"transaction_id": p["transaction_id"]}
    _details(
        w,
        transactions,
        event,
        key,
        {"order_id": p.get("order_id"), "amount": p.get("amount"), "currency": p.get("currency")},
        status="collections",
    )
    upsert_latest(w, transactions, event, key, {"status": "collections"})


def transaction_recharge_requested(w: Writes, event: ContactEvent) -> None:
    upsert_latest(
        w,
        transactions,
        event,
        {"transaction_id": event.payload["transaction_id"]},
        {"status": "recharge_requested"},
    )


def transaction_paid(w: Writes, event: ContactEvent) -> None:
    upsert_latest(
        w,
        transactions,
        event,
        {"transaction_id": event.payload["transaction_id"]},
        {"status": "paid"},
    )


def owner_assigned(w: Writes, event: ContactEvent) -> None:
    """The owner is a contact attribute like any other (conditions and merge tags read
    it, create_activity assigns to it); lead_assignments remembers which router chose."""
    owner = event.payload["owner"]
    upsert_latest(w, contact_attributes, event, {"name": "owner"}, {"value": owner})
    upsert_latest(
        w, lead_assignments, event, {"router": event.payload.get("router") or ""}, {"owner": owner}
    )


def _details(
    w: Writes,
    table: Table,
    event: ContactEvent,
    key: dict[str, Any],
    details: dict[str, Any],
    *,
    status: str,
) -> None:
    """Insert the row (with this event's status) if it is new; otherwise write only the
    details, leaving status and changed_at to upsert_latest's guard. Touching disjoint
    columns, this statement and the status upsert commute."""

    def build(conn: Connection):
        statement = insert(conn, table)
        return statement.on_conflict_do_update(
            index_elements=[c.name for c in table.primary_key.columns],
            set_={name: statement.excluded[name] for name in details},
        )

    w.add(
        ("details", table.name, tuple(key), tuple(details)),
        build,
        {
            "contact_id": event.contact_id,
            **key,
            **details,
            "status": status,
            "changed_at": event.occurred_at,
        },
    )


HANDLERS = {
    C.OFFER_SET: (offer_set,),
    C.OFFER_REMOVED: (offer_removed,),
    C.MEMBERSHIP_ACCESS_CHANGED: (membership_access_changed,),
    C.ADDED_TO_LIST: (added_to_list,),
    C.REMOVED_FROM_LIST: (removed_from_list,),
    C.NOTE_ADDED: (note_added,),
    C.CRM_ACTIVITY_CREATED: (crm_activity_created,),
    C.ORDER_PLACED: (order_placed,),
    C.ORDER_CANCELLED: (order_cancelled,),
    C.TRANSACTION_FAILED: (transaction_failed,),
    C.TRANSACTION_RECHARGE_REQUESTED: (transaction_recharge_requested,),
    C.TRANSACTION_PAID: (transaction_paid,),
    C.OWNER_ASSIGNED: (owner_assigned,),
}
