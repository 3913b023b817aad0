"""The one projector: applies an event to every read model, exactly once (the caller
only applies events whose append was new) and order-independently (last writer by
occurred_at for states, earliest for firsts, latest for lasts), so `rebuild` from the
store gives the same read models whatever order the events were recorded in."""

from collections.abc import Callable, Iterable

from sqlalchemy import Connection

from domain.events import ContactEvent
from domain.events import EventType as T
from projections.projectors import (
    commerce,
    contact_changes,
    courses,
    engagement,
    journeys,
    profile,
    web,
)
from projections.projectors.writes import Writes

Handler = Callable[[Writes, ContactEvent], None]

# Every event type and what it updates beyond the contact row. Types with no entry
# (email.delivered, custom) only touch the contact: conditions read custom events
# straight from the event store (lead_event), and nothing reads deliveries yet.
HANDLERS: dict[str, tuple[Handler, ...]] = {
    T.CONTACT_CREATED: (profile.contact_changed,),
    T.CONTACT_UPDATED: (profile.contact_changed,),
    T.TAG_ADDED: (profile.tag_added,),
    T.TAG_REMOVED: (profile.tag_removed,),
    T.UNSUBSCRIBED: (engagement.unsubscribed,),
    T.RESUBSCRIBED: (engagement.resubscribed,),
    T.PREFERENCES_CHANGED: (engagement.preferences_changed,),
    T.ACTIVE: (courses.active,),
    T.FORM_SUBMITTED: (profile.form_fields, web.form_submitted),
    T.PAGE_VISITED: (web.page_visited,),
    T.MESSAGE_SENT: (engagement.message_sent,),
    T.EMAIL_OPENED: (engagement.email_touched,),
    T.EMAIL_CLICKED: (engagement.email_touched,),
    T.EMAIL_BOUNCED: (engagement.email_bounced,),
    T.SMS_RECEIVED: (engagement.sms_received,),
    T.PRODUCT_PURCHASED: (commerce.product_purchased,),
    T.PRODUCT_ADDED: (commerce.product_added,),
    T.PRODUCT_REMOVED: (commerce.product_removed,),
    T.SUBSCRIPTION_STARTED: (commerce.subscription_started,),
    T.SUBSCRIPTION_ENDED: (commerce.subscription_ended,),
    T.COURSE_ACCOUNT_CREATED: (courses.account_created,),
    T.COURSE_STARTED: (courses.course_progressed,),
    T.COURSE_STEP_COMPLETED: (courses.course_progressed,),
    T.COURSE_COMPLETED: (courses.course_progressed,),
    T.JOURNEY_CONVERTED: (journeys.converted,),
}
# Journeys' contact changes (offers, lists, notes, orders, lead routing...).
HANDLERS.update(contact_changes.HANDLERS)


def apply(conn: Connection, batch: Iterable[ContactEvent]) -> None:
    """Project events given in store order; their writes go out together (writes.py)."""
    writes = Writes(conn)
    for event in batch:
        # The contact row first: handlers may update columns on it.
        profile.touch_contact(writes, event)
        for handler in HANDLERS.get(event.type, ()):
            handler(writes, event)
    writes.flush()
