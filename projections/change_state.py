"""What the contact-change activity reads before it maps a step to events: a run's
events already stored, open orders, transactions in collections, and the lead routers'
round-robin turns. Each runs on the caller's connection, inside the transaction that
appends the step's events, so the read and the append agree."""

from sqlalchemy import Connection, select

from domain.contact_change_events import OpenOrder
from domain.events import ContactEvent
from projections.change_schema import lead_router_turns, orders, transactions
from projections.dialect import insert
from projections.event_store import read_contact
from projections.schema import events


def stored_run(conn: Connection, contact_id: str, prefix: str) -> list[ContactEvent]:
    """The events an earlier attempt of the same step run appended (ids share `prefix`),
    in store order. Scoped to the contact, so the LIKE scans only that contact's rows."""
    ids = (
        conn.execute(
            select(events.c.event_id).where(
                events.c.contact_id == contact_id,
                events.c.event_id.startswith(prefix, autoescape=True),
            )
        )
        .scalars()
        .all()
    )
    if not ids:
        return []
    wanted = set(ids)
    return [e for e in read_contact(conn, contact_id) if e.event_id in wanted]


def is_stored(conn: Connection, event_id: str) -> bool:
    return (
        conn.execute(select(events.c.event_id).where(events.c.event_id == event_id)).first()
        is not None
    )


def open_orders(conn: Connection, contact_id: str) -> tuple[OpenOrder, ...]:
    rows = conn.execute(
        select(orders.c.order_id, orders.c.product)
        .where(orders.c.contact_id == contact_id, orders.c.status == "open")
        .order_by(orders.c.order_id)
    )
    return tuple(OpenOrder(order_id=r.order_id, product=r.product) for r in rows)


def in_collections(conn: Connection, contact_id: str) -> tuple[str, ...]:
    return tuple(
        conn.execute(
            select(transactions.c.transaction_id)
            .where(transactions.c.contact_id == contact_id, transactions.c.status == "collections")
            .order_by(transactions.c.transaction_id)
        ).scalars()
    )


def take_turn(conn: Connection, router: str) -> int:
    """Count one more assignment for `router` and return the new count (1 for its first
    contact). A single upsert: it takes the row's write lock, so concurrent assignments
    queue up behind the transaction holding it and each gets its own turn; rolling that
    transaction back gives the turn back."""
    statement = insert(conn, lead_router_turns).values(router=router, turns=1)
    statement = statement.on_conflict_do_update(
        index_elements=["router"],
        set_={"turns": lead_router_turns.c.turns + 1},
    ).returning(lead_router_turns.c.turns)
    return conn.execute(statement).scalar_one()
