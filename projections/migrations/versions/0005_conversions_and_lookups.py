"""Journey conversions per enrollment (goals, attributed to a step), and the indexes
provider webhooks use to find a contact by address and a message by provider id.

journey.converted is a new event type, so no stored event feeds the new table.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from projections.types import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journey_conversions",
        sa.Column("journey_id", sa.String(400), nullable=False),
        sa.Column("enrollment_id", sa.String(400), nullable=False),
        sa.Column("flow_id", sa.String(64), nullable=False),
        sa.Column("flow_version", sa.Integer, nullable=False),
        sa.Column("contact_id", sa.String(128), nullable=False),
        sa.Column("goal_step", sa.String(64), nullable=False),
        sa.Column("step_id", sa.String(64)),
        sa.Column("converted_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("journey_id", "enrollment_id", name="pk_journey_conversions"),
    )
    op.create_index("ix_journey_conversions_flow", "journey_conversions", ["flow_id", "step_id"])
    op.create_index("ix_contacts_phone", "contacts", ["phone"])
    op.create_index("ix_contacts_email_lower", "contacts", [sa.text("lower(email)")])
    op.create_index(
        "ix_sent_messages_provider_message_id", "sent_messages", ["provider_message_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_sent_messages_provider_message_id", "sent_messages")
    op.drop_index("ix_contacts_email_lower", "contacts")
    op.drop_index("ix_contacts_phone", "contacts")
    op.drop_index("ix_journey_conversions_flow", "journey_conversions")
    op.drop_table("journey_conversions")
