"""Event store, contact read models, message ledger, outbox and flow catalogue.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from projections.types import Json, Position, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", Position, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("contact_id", sa.String(128), nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_events"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    )
    op.create_index("ix_events_contact_id_position", "events", ["contact_id", "position"])
    op.create_table(
        "contacts",
        sa.Column("contact_id", sa.String(128), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(32)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("last_event_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", name="pk_contacts"),
    )
    op.create_table(
        "contact_attributes",
        sa.Column("contact_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("value", Json),
        sa.Column("changed_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "name", name="pk_contact_attributes"),
    )
    op.create_table(
        "contact_tags",
        sa.Column("contact_id", sa.String(128), nullable=False),
        sa.Column("tag", sa.String(100), nullable=False),
        sa.Column("present", sa.Boolean, nullable=False),
        sa.Column("changed_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "tag", name="pk_contact_tags"),
    )
    op.create_table(
        "sent_messages",
        sa.Column("message_key", sa.String(400), nullable=False),
        sa.Column("contact_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("flow_id", sa.String(64)),
        sa.Column("step_id", sa.String(64)),
        sa.Column("to_address", sa.String(320), nullable=False),
        sa.Column("provider_message_id", sa.String(200)),
        sa.Column("sent_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("message_key", name="pk_sent_messages"),
    )
    op.create_index("ix_sent_messages_contact_id", "sent_messages", ["contact_id"])
    op.create_table(
        "message_ledger",
        sa.Column("idempotency_key", sa.String(400), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("contact_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("uncertain_retries", sa.Integer, nullable=False),
        sa.Column("provider_message_id", sa.String(200)),
        sa.Column("detail", sa.Text),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key", name="pk_message_ledger"),
    )
    op.create_table(
        "outbox_messages",
        sa.Column("id", Position, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(400), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("contact_id", sa.String(128), nullable=False),
        sa.Column("to_address", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_messages"),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_messages_idempotency_key"),
    )
    op.create_index("ix_outbox_messages_contact_id", "outbox_messages", ["contact_id"])
    op.create_table(
        "flows",
        sa.Column("flow_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("current_version", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("flow_id", name="pk_flows"),
    )
    op.create_table(
        "flow_versions",
        sa.Column("flow_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", Json, nullable=False),
        sa.Column("published_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("flow_id", "version", name="pk_flow_versions"),
    )


def downgrade() -> None:
    for table in (
        "flow_versions",
        "flows",
        "outbox_messages",
        "message_ledger",
        "sent_messages",
        "contact_tags",
        "contact_attributes",
        "contacts",
        "events",
    ):
        op.drop_table(table)
