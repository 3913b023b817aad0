"""The read model of subscription topics: which topics each contact left (or came back
to) on which channel. Same metadata and conventions as projections.schema, whose
READ_MODELS includes it; kept apart so each file stays small."""

from sqlalchemy import Boolean, Column, String, Table

from projections.metadata import metadata
from projections.types import UtcDateTime

# One row per contact, topic and channel a contact ever chose; no row: subscribed.
# A last-writer register by changed_at (the event's occurred_at), so arrival order
# never matters and a rebuild gives the same rows.
topic_preferences = Table(
    "topic_preferences",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("topic", String(64), primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("subscribed", Boolean, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)
