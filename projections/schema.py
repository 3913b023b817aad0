"""Tables. The event store is the source of truth; every other table but the ledger,
outbox and flow catalogue is a read model that `rebuild` can regenerate from events."""

from sqlalchemy import (
    Boolean, Column, Index, Integer, MetaData, String, Table, Text,
)

from projections.types import Json, Position, UtcDateTime

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
})

events = Table(
    "events", metadata,
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
)

# --- read models -----------------------------------------------------------------

contacts = Table(
    "contacts", metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("email", String(320)),
    Column("phone", String(32)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_event_at", UtcDateTime, nullable=False),
)

# Last writer by occurred_at wins, so events that arrive out of order still leave the
# value the contact really had last; `changed_at` is that event's occurred_at.
contact_attributes = Table(
    "contact_attributes", metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("value", Json),
    Column("changed_at", UtcDateTime, nullable=False),
)

contact_tags = Table(
    "contact_tags", metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("tag", String(100), primary_key=True),
    Column("present", Boolean, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)

sent_messages = Table(
    "sent_messages", metadata,
    Column("message_key", String(400), primary_key=True),
    Column("contact_id", String(128), nullable=False, index=True),
    Column("channel", String(20), nullable=False),
    Column("flow_id", String(64)),
    Column("step_id", String(64)),
    Column("to_address", String(320), nullable=False),
    Column("provider_message_id", String(200)),
    Column("sent_at", UtcDateTime, nullable=False),
)

READ_MODELS = (contacts, contact_attributes, contact_tags, sent_messages)

# --- side-effect bookkeeping (not rebuilt from events) ----------------------------

message_ledger = Table(
    "message_ledger", metadata,
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
)

outbox_messages = Table(
    "outbox_messages", metadata,
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
    "flows", metadata,
    Column("flow_id", String(64), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("current_version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("name", String(200)),
    Column("draft", Json),
    Column("created_at", UtcDateTime, nullable=False),
)

flow_versions = Table(
    "flow_versions", metadata,
    Column("flow_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", Json, nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
)
