"""Subscription topics: which topic each contact left (or came back to) on which
channel, projected from contact.preferences_changed events.

No stored event before this revision has that type, so nothing needs replaying.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from projections.types import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topic_preferences",
        sa.Column("contact_id", sa.String(128), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("subscribed", sa.Boolean, nullable=False),
        sa.Column("changed_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "topic", "channel", name="pk_topic_preferences"),
    )


def downgrade() -> None:
    op.drop_table("topic_preferences")
