"""Products a contact has, what they bought, and their subscription plans."""

from sqlalchemy import Connection

from domain.events import ContactEvent
from projections.dialect import insert
from projections.projectors.common import upsert_latest
from projections.schema import contact_products, purchases, subscriptions


def product_purchased(conn: Connection, event: ContactEvent) -> None:
    payload = event.payload
    conn.execute(insert(conn, purchases).values(
        event_id=event.event_id, contact_id=event.contact_id, product=payload["product"],
        quantity=payload.get("quantity", 1), amount=payload.get("amount"),
        currency=payload.get("currency"), occurred_at=event.occurred_at,
    ).on_conflict_do_nothing(index_elements=["event_id"]))
    # Buying a product is having it ("Has Product" lists the customers who bought it),
    # until a later product.removed takes it away.
    product_added(conn, event)


def product_added(conn: Connection, event: ContactEvent) -> None:
    upsert_latest(conn, contact_products, event, {"product": event.payload["product"]},
                  {"present": True})


def product_removed(conn: Connection, event: ContactEvent) -> None:
    upsert_latest(conn, contact_products, event, {"product": event.payload["product"]},
                  {"present": False})


def subscription_started(conn: Connection, event: ContactEvent) -> None:
    upsert_latest(conn, subscriptions, event, {"plan": event.payload["plan"]}, {"active": True})


def subscription_ended(conn: Connection, event: ContactEvent) -> None:
    upsert_latest(conn, subscriptions, event, {"plan": event.payload["plan"]}, {"active": False})
