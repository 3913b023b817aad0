"""What the contact-change activity reads before it maps a step to events: a run's
events already stored, open orders, transactions in collections, and the lead routers'
round-robin turns. Each runs on the caller's connection, inside the transaction that
appends the step's events, so the read and the append agree."""

from sqlalchemy import Connection, and_, or_, select

from domain.change_ids import JOURNEY_EVENT_PREFIX, run_digest
from domain.contact_change_events import OpenOrder
from domain.events import ContactEvent
from projections.change_schema import lead_router_turns, orders, transactions
from projections.dialect import insert
from projections.event_store import read_contact
from projections.schema import events


def stored_run(
    conn: Connection, contact_id: str, idempotency_key: str, *, indexed: bool
) -> list[ContactEvent]:
    """The events an attempt of the same step run appended, in store order (run_ids)."""
    ids = run_ids(conn, contact_id, idempotency_key, indexed=indexed)
    if not ids:
        return []
    wanted = set(ids)
    return [e for e in read_contact(conn, contact_id) if e.event_id in wanted]


def run_ids(conn: Connection, contact_id: str, idempotency_key: str, *, indexed: bool) -> list[str]:
    """The ids of the events attempts of one step run appended, whether they carry the
    journey's origin or not (domain.change_ids): `indexed`, the events of a
    contact-change step (`.../0`, `.../1`...), else the one event of a tag step or a
    conversion. Scoped to the contact, so the LIKE scans only that contact's rows."""
    digest, E = run_digest(idempotency_key), events.c
    if indexed:
        unmarked = E.event_id.startswith(f"{JOURNEY_EVENT_PREFIX}{digest}/", autoescape=True)
        marked = E.event_id.contains(f".{digest}/", autoescape=True)
    else:
        unmarked = E.event_id == f"{JOURNEY_EVENT_PREFIX}{digest}"
        marked = E.event_id.endswith(f".{digest}", autoescape=True)
    return list(
        conn.execute(
            select(E.event_id).where(
                E.contact_id == contact_id,
                or_(
                    unmarked,
                    and_(E.event_id.startswith(JOURNEY_EVENT_PREFIX, autoescape=True), marked),
                ),
            )
        ).scalars()
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
