"""Tables. The event store is the source of truth; every other table but the ledger,
outbox and flow catalogue is a read model that `rebuild` can regenerate from events."""

from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table, Text, func, text

from projections.change_schema import CHANGE_READ_MODELS
from projections.metadata import NAME, metadata
from projections.topic_schema import topic_preferences
from projections.types import Json, Position, UtcDateTime

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(200), nullable=False, unique=True),
    Column("type", String(100), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("contact_id", String(128), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("source", String(100), nullable=False),
    Column("payload", Json, nullable=False),
    Index(None, "contact_id", "position"),
    # lead_event conditions read one contact's events of a few types straight from here.
    Index(None, "contact_id", "type"),
)

# Routing's transactional outbox: one row per event appended from outside, written in
# the append's transaction and deleted once the event has reached Temporal, so an event
# whose routing failed (Temporal down, process killed) is retried rather than lost.
event_dispatches = Table(
    "event_dispatches",
    metadata,
    Column("event_id", String(200), primary_key=True),
    Column("position", Position, nullable=False),
    Column("contact_id", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text),
    # Set when retrying cannot cure the failure (Temporal refuses the payload, say): the
    # row is set aside as a dead letter and no longer holds back the contact's later
    # events, until `dripstone dispatch retry` or `skip` settles it (0007).
    Column("dead_at", UtcDateTime),
    Index(None, "next_attempt_at"),
    Index(None, "contact_id"),
)

# Facts about the engine's own state. `journey_index_incomplete`: journeys started before
# the index existed (release 0007) may not be in it yet; until `dripstone db
# reindex-journeys` (or a worker at start) has listed them, every event gets a dispatch
# record and reaches the contact's journeys through the router's full path.
engine_flags = Table(
    "engine_flags",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("set_at", UtcDateTime, nullable=False),
)

# Which journeys each contact is in, kept by the engine as journeys start, pause and end
# (routing/journey_index.py), so the router signals exactly the contact's running
# journeys, whatever their flow's status or re-entry suffix, and a contact with no
# journey costs no Temporal call. Not rebuilt from events: it mirrors Temporal, not the
# store (0007).
journey_index = Table(
    "journey_index",
    metadata,
    Column("workflow_id", String(1000), primary_key=True),
    Column("contact_id", String(128), nullable=False),
    Column("flow_id", String(64), nullable=False),
    Column("flow_version", Integer, nullable=False),
    Column("enrollment_id", String(400), nullable=False),
    Column("status", String(20), nullable=False),  # running | paused | ended
    Column("started_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    # The step the journey is at or about to run: set to the first step when it starts,
    # then by each step report; NULL for journeys that have not reported yet (0012).
    Column("current_step", String(64)),
    Index(None, "contact_id", "status"),
    Index(None, "flow_id", "status"),
)

# --- read models -----------------------------------------------------------------

contacts = Table(
    "contacts",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("email", String(320)),
    Column("phone", String(32)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_event_at", UtcDateTime, nullable=False),
    # One value per contact, so they live on the contact row (loaded with one PK lookup):
    # earliest course.* event; latest contact.active or course progress; newest SMS reply.
    Column("course_account_at", UtcDateTime),
    Column("last_active_at", UtcDateTime),
    Column("last_reply", Text),
    Column("last_reply_at", UtcDateTime),
    # Provider webhooks find the contact by address (0005).
    Index("ix_contacts_phone", "phone"),
    Index("ix_contacts_email_lower", func.lower(text("email"))),
)

# Last writer by occurred_at wins, so events that arrive out of order still leave the
# value the contact really had last; `changed_at` is that event's occurred_at.
contact_attributes = Table(
    "contact_attributes",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("value", Json),
    Column("changed_at", UtcDateTime, nullable=False),
)

contact_tags = Table(
    "contact_tags",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("tag", String(100), primary_key=True),
    Column("present", Boolean, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)

sent_messages = Table(
    "sent_messages",
    metadata,
    Column("message_key", String(400), primary_key=True),
    Column("contact_id", String(128), nullable=False, index=True),
    Column("channel", String(20), nullable=False),
    Column("flow_id", String(64)),
    Column("step_id", String(64)),
    Column("to_address", String(320), nullable=False),
    Column("provider_message_id", String(200)),
    Column("sent_at", UtcDateTime, nullable=False),
    # Receipts and notices: not counted by frequency caps (0008).
    Column("transactional", Boolean),
    Index("ix_sent_messages_provider_message_id", "provider_message_id"),
)

# One row per enrollment that met a goal (the event id derives from the enrollment, so a
# conversion is counted once), attributed to the last step reached before it [003].
journey_conversions = Table(
    "journey_conversions",
    metadata,
    Column("journey_id", String(400), primary_key=True),
    Column("enrollment_id", String(400), primary_key=True),
    Column("flow_id", String(64), nullable=False),
    Column("flow_version", Integer, nullable=False),
    Column("contact_id", String(128), nullable=False),
    Column("goal_step", String(64), nullable=False),
    Column("step_id", String(64)),
    Column("converted_at", UtcDateTime, nullable=False),
    Index("ix_journey_conversions_flow", "flow_id", "step_id"),
)

# Every read model below is looked up by contact_id first, so each primary key (or index)
# leads with it (NAME: see projections.metadata).

contact_products = Table(
    "contact_products",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("product", String(NAME), primary_key=True),
    Column("present", Boolean, nullable=False),  # added or purchased, until removed
    Column("changed_at", UtcDateTime, nullable=False),
)

# One row per purchase event (the event id keeps a replayed purchase from counting twice).
purchases = Table(
    "purchases",
    metadata,
    Column("event_id", String(200), primary_key=True),
    Column("contact_id", String(128), nullable=False),
    Column("product", String(NAME), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("amount", Float),  # as the event carried it (a JSON number)
    Column("currency", String(10)),
    Column("occurred_at", UtcDateTime, nullable=False),
    Index(None, "contact_id", "product"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("plan", String(NAME), primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)

# Progress only moves forward, so these keep the first time each milestone was reached;
# a step or completion also counts as having started the course.
course_progress = Table(
    "course_progress",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("course", String(NAME), primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime),
)

course_steps = Table(
    "course_steps",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("course", String(NAME), primary_key=True),
    Column("step", String(NAME), primary_key=True),
    Column("completed_at", UtcDateTime, nullable=False),
)

# Opens and clicks, first occurrence of each. Rows are keyed by a digest of what
# identifies the touch (message, URL, flow step): URLs have no sensible length bound and
# PostgreSQL caps a b-tree entry near 2.7 kB, and a touch without a message key must not
# collapse into another one.
email_engagement = Table(
    "email_engagement",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("kind", String(10), primary_key=True),  # open | click
    Column("touch_key", String(64), primary_key=True),
    Column("message_key", String(400)),
    Column("url", Text),
    Column("flow_id", String(64)),
    Column("step_id", String(64)),
    Column("first_at", UtcDateTime, nullable=False),
)

# Per channel, and per list of a channel: list_id '' is the channel as a whole, which is
# what the `unsubscribed` condition asks about.
channel_status = Table(
    "channel_status",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("list_id", String(NAME), primary_key=True),
    Column("unsubscribed", Boolean, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)

funnel_members = Table(
    "funnel_members",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("funnel", String(NAME), primary_key=True),
    Column("first_at", UtcDateTime, nullable=False),
)

page_visits = Table(
    "page_visits",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("page", String(NAME), primary_key=True),
    Column("funnel", String(NAME), primary_key=True),  # '' when the page is in no funnel
    Column("first_at", UtcDateTime, nullable=False),
    Column("last_at", UtcDateTime, nullable=False),
)

form_submissions = Table(
    "form_submissions",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("form_id", String(NAME), primary_key=True),
    Column("first_at", UtcDateTime, nullable=False),
    Column("last_at", UtcDateTime, nullable=False),
)

READ_MODELS = (
    contacts,
    contact_attributes,
    contact_tags,
    sent_messages,
    contact_products,
    purchases,
    subscriptions,
    course_progress,
    course_steps,
    email_engagement,
    channel_status,
    funnel_members,
    page_visits,
    form_submissions,
    journey_conversions,
    # Journeys' contact changes (offers, lists, notes, orders...), declared in their own module.
    *CHANGE_READ_MODELS,
    topic_preferences,  # subscription topics (projections/topic_schema.py)
)

# --- side-effect bookkeeping (not rebuilt from events) ----------------------------

message_ledger = Table(
    "message_ledger",
    metadata,
    Column("idempotency_key", String(400), primary_key=True),
    Column("channel", String(20), nullable=False),
    Column("contact_id", String(128), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("uncertain_retries", Integer, nullable=False),
    Column("provider_message_id", String(200)),
    Column("detail", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # A contact's messages, newest first (0009).
    Index(None, "contact_id", "created_at"),
)

outbox_messages = Table(
    "outbox_messages",
    metadata,
    Column("id", Position, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(400), nullable=False, unique=True),
    Column("channel", String(20), nullable=False),
    Column("contact_id", String(128), nullable=False, index=True),
    Column("to_address", String(320), nullable=False),
    Column("subject", Text),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# One row per flow id: its lifecycle status, the live version (0 until first published)
# and the working draft. The draft is the raw document as saved, kept even when it does
# not parse, so nothing a user typed is lost to a validation error.
flows = Table(
    "flows",
    metadata,
    Column("flow_id", String(64), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("current_version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("name", String(200)),
    Column("draft", Json),
    Column("created_at", UtcDateTime, nullable=False),
)

flow_versions = Table(
    "flow_versions",
    metadata,
    Column("flow_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", Json, nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
)
