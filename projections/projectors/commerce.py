"""Products a contact has, what they bought, and their subscription plans."""

from domain.events import ContactEvent
from projections.projectors.common import insert_once, upsert_latest
from projections.projectors.writes import Writes
from projections.schema import contact_products, purchases, subscriptions


def product_purchased(w: Writes, event: ContactEvent) -> None:
    payload = event.payload
    insert_once(
        w,
        purchases,
        {
            "event_id": event.event_id,
            "contact_id": event.contact_id,
            "product": payload["product"],
            "quantity": payload.get("quantity", 1),
            "amount": payload.get("amount"),
            "currency": payload.get("currency"),
            "occurred_at": event.occurred_at,
        },
        unique="event_id",
    )
    # Buying a product is having it ("Has Product" lists the customers who bought it),
    # until a later product.removed takes it away.
    product_added(w, event)


def product_added(w: Writes, event: ContactEvent) -> None:
    upsert_latest(
        w, contact_products, event, {"product": event.payload["product"]}, {"present": True}
    )


def product_removed(w: Writes, event: ContactEvent) -> None:
    upsert_latest(
        w, contact_products, event, {"product": event.payload["product"]}, {"present": False}
    )


def subscription_started(w: Writes, event: ContactEvent) -> None:
    upsert_latest(w, subscriptions, event, {"plan": event.payload["plan"]}, {"active": True})


def subscription_ended(w: Writes, event: ContactEvent) -> None:
    upsert_latest(w, subscriptions, event, {"plan": event.payload["plan"]}, {"active": False})
