"""Dispatch records: routing's transactional outbox (see projections/dispatches.py).

Events already in the store were routed when they arrived, so no rows are backfilled.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from projections.types import Position, UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_dispatches",
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("position", Position, nullable=False),
        sa.Column("contact_id", sa.String(128), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UtcDateTime, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("event_id", name="pk_event_dispatches"),
    )
    op.create_index("ix_event_dispatches_next_attempt_at", "event_dispatches", ["next_attempt_at"])
    op.create_index("ix_event_dispatches_contact_id", "event_dispatches", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_event_dispatches_contact_id", "event_dispatches")
    op.drop_index("ix_event_dispatches_next_attempt_at", "event_dispatches")
    op.drop_table("event_dispatches")
