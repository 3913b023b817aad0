"""What each event type means and who sends it, for the OpenAPI document and
docs/events.md. The payload fields themselves are not repeated here: both documents
read them from PAYLOAD_SCHEMAS, so a field cannot be documented differently from how
it is validated. A test fails when a type in PAYLOAD_SCHEMAS has no entry here (or the
other way round), so a new type cannot ship undocumented."""

from dataclasses import dataclass
from enum import StrEnum

from domain.contact_change_payloads import ChangeEvent as C
from domain.event_payloads import EventType as T


class Sender(StrEnum):
    YOU = "you"  # a service of yours, through POST /v1/events (or PUT /v1/contacts)
    SENDGRID = "SendGrid webhook"
    TWILIO = "Twilio webhook"
    ENGINE = "the engine"  # written by a journey, a step's activity or the event store


@dataclass(frozen=True)
class EventKind:
    meaning: str
    senders: tuple[Sender, ...]


YOU, SENDGRID, TWILIO, ENGINE = Sender.YOU, Sender.SENDGRID, Sender.TWILIO, Sender.ENGINE

EVENT_KINDS: dict[str, EventKind] = {
    T.CONTACT_CREATED: EventKind(
        "A contact was created, with its first profile fields and attributes. PUT "
        "/v1/contacts sends it for a contact never seen; Twilio's webhook for a number no "
        "contact has.",
        (YOU, TWILIO),
    ),
    T.CONTACT_UPDATED: EventKind(
        "Profile fields or attributes changed; an attribute set to null is cleared, one "
        "left out is left alone. Also written by `update_contact` steps.",
        (YOU, ENGINE),
    ),
    T.TAG_ADDED: EventKind("A tag was put on the contact.", (YOU, ENGINE)),
    T.TAG_REMOVED: EventKind("A tag was taken off the contact.", (YOU, ENGINE)),
    T.UNSUBSCRIBED: EventKind(
        "The contact left a channel (or one `list_id` of it). Written by the store after an "
        "SMS STOP, by SendGrid unsubscribes and spam reports, and by Twilio's opt-out error.",
        (YOU, SENDGRID, TWILIO, ENGINE),
    ),
    T.RESUBSCRIBED: EventKind(
        "The contact came back to a channel (or one `list_id` of it), e.g. an SMS START.",
        (YOU, SENDGRID, ENGINE),
    ),
    T.PREFERENCES_CHANGED: EventKind(
        "The contact opted out of (or back into) one subscription `topic` on one channel, "
        "on their preference page, by one-click unsubscribe, or as your service says. "
        "Messages of that topic skip them unless transactional; `unsubscribed` conditions "
        "with a `topic` read it.",
        (YOU, ENGINE),
    ),
    T.ACTIVE: EventKind(
        "The contact was active on a platform (a login, a visit); "
        "`last_active` conditions read it.",
        (YOU,),
    ),
    T.FORM_SUBMITTED: EventKind("The contact submitted a form.", (YOU,)),
    T.PAGE_VISITED: EventKind("The contact visited a page (of a funnel).", (YOU,)),
    T.MESSAGE_SENT: EventKind(
        "An email or SMS was handed to the provider for the contact.", (ENGINE,)
    ),
    T.EMAIL_DELIVERED: EventKind("The provider delivered an email.", (SENDGRID,)),
    T.EMAIL_OPENED: EventKind("The contact opened an email.", (SENDGRID,)),
    T.EMAIL_CLICKED: EventKind("The contact clicked a link (`url`) in an email.", (SENDGRID,)),
    T.EMAIL_BOUNCED: EventKind("An email bounced, permanently or for now.", (SENDGRID,)),
    T.EMAIL_SPAM_REPORTED: EventKind(
        "The contact reported an email as spam (an unsubscribe from email follows).", (SENDGRID,)
    ),
    T.SMS_STATUS_CHANGED: EventKind(
        "The SMS provider reported a delivery status for an " "SMS we sent.", (TWILIO,)
    ),
    T.SMS_RECEIVED: EventKind(
        "The contact texted us. STOP / START (and Twilio's opt-out classification) also "
        "unsubscribe / resubscribe them from SMS, however the event arrived.",
        (TWILIO, YOU),
    ),
    T.PRODUCT_PURCHASED: EventKind(
        "The contact bought a product (also `add_purchase` steps).", (YOU, ENGINE)
    ),
    T.PRODUCT_ADDED: EventKind(
        "The contact was given a product without a purchase.", (YOU, ENGINE)
    ),
    T.PRODUCT_REMOVED: EventKind("A product was taken away from the contact.", (YOU, ENGINE)),
    T.SUBSCRIPTION_STARTED: EventKind(
        "The contact's subscription to a plan started.", (YOU, ENGINE)
    ),
    T.SUBSCRIPTION_ENDED: EventKind("The contact's subscription to a plan ended.", (YOU,)),
    T.COURSE_ACCOUNT_CREATED: EventKind("The contact got an account on a course platform.", (YOU,)),
    T.COURSE_STARTED: EventKind("The contact started a course.", (YOU,)),
    T.COURSE_STEP_COMPLETED: EventKind("The contact completed one step of a course.", (YOU,)),
    T.COURSE_COMPLETED: EventKind("The contact completed a course.", (YOU,)),
    T.WEBHOOK_RESPONDED: EventKind("A journey's webhook step got its final answer.", (ENGINE,)),
    T.SCRIPT_COMPLETED: EventKind("A journey's script step finished, with its result.", (ENGINE,)),
    T.SCRIPT_FAILED: EventKind("A journey's script step failed, with the reason.", (ENGINE,)),
    T.JOURNEY_CONVERTED: EventKind(
        "A journey reached one of its goals (once per enrollment).", (ENGINE,)
    ),
    T.CUSTOM: EventKind(
        "Anything else, named by you; triggers, waits and `lead_event` "
        "conditions match it by `name`.",
        (YOU,),
    ),
    C.OFFER_SET: EventKind(
        "A special offer on a product was set for the contact " "(`set_offer` steps).",
        (ENGINE, YOU),
    ),
    C.OFFER_REMOVED: EventKind("The contact's offer on a product was removed.", (ENGINE, YOU)),
    C.MEMBERSHIP_ACCESS_CHANGED: EventKind(
        "The contact's access to a membership site changed " "(`set_membership` steps).",
        (ENGINE, YOU),
    ),
    C.ADDED_TO_LIST: EventKind(
        "The contact was added to a list, selection, project or " "fulfillment list.", (ENGINE, YOU)
    ),
    C.REMOVED_FROM_LIST: EventKind(
        "The contact was removed from one of those lists.", (ENGINE, YOU)
    ),
    C.NOTE_ADDED: EventKind("A note was made on the contact (`make_note` steps).", (ENGINE, YOU)),
    C.CRM_ACTIVITY_CREATED: EventKind(
        "A task, follow-up, request or sale was created for the "
        "contact (`create_activity` steps).",
        (ENGINE, YOU),
    ),
    C.ORDER_PLACED: EventKind(
        "The contact placed an order in your shop or billing system.", (YOU,)
    ),
    C.ORDER_CANCELLED: EventKind(
        "An order was cancelled (also `cancel_open_orders` steps).", (YOU, ENGINE)
    ),
    C.TRANSACTION_FAILED: EventKind("A charge failed and went to collections.", (YOU,)),
    C.TRANSACTION_RECHARGE_REQUESTED: EventKind(
        "A journey asked for a failed charge to be tried again (`recharge_transactions`).",
        (ENGINE,),
    ),
    C.TRANSACTION_PAID: EventKind("A charge in collections was paid.", (YOU,)),
    C.OWNER_ASSIGNED: EventKind(
        "The contact was given an owner, e.g. by a lead router " "(`add_to_lead_router` steps).",
        (ENGINE, YOU),
    ),
}
