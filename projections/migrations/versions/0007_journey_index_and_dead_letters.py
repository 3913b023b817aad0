"""The journey index (which journeys each contact is in) and dead-letter dispatches.

The index starts empty: journeys started before it are found by `dripstone db
reindex-journeys`, which lists running journeys from Temporal's visibility.

Revision ID: 0007
Revises: 0006
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from projections.types import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("event_dispatches", sa.Column("dead_at", UtcDateTime, nullable=True))
    flags = op.create_table(
        "engine_flags",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("set_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_engine_flags"),
    )
    # A database with events may have journeys running that the new index does not
    # know yet: flag it, so nothing is filtered out until they are indexed.
    if op.get_bind().execute(sa.text("SELECT 1 FROM events LIMIT 1")).first() is not None:
        op.bulk_insert(flags, [{"name": "journey_index_incomplete", "set_at": datetime.now(UTC)}])
    op.create_table(
        "journey_index",
        # A sub-flow child under re_entry always: flow, contact, and a step's key.
        sa.Column("workflow_id", sa.String(1000), nullable=False),
        sa.Column("contact_id", sa.String(128), nullable=False),
        sa.Column("flow_id", sa.String(64), nullable=False),
        sa.Column("flow_version", sa.Integer, nullable=False),
        sa.Column("enrollment_id", sa.String(400), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("ended_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("workflow_id", name="pk_journey_index"),
    )
    op.create_index("ix_journey_index_contact_id_status", "journey_index", ["contact_id", "status"])
    op.create_index("ix_journey_index_flow_id_status", "journey_index", ["flow_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_journey_index_flow_id_status", "journey_index")
    op.drop_index("ix_journey_index_contact_id_status", "journey_index")
    op.drop_table("journey_index")
    op.drop_table("engine_flags")
    with op.batch_alter_table("event_dispatches") as batch:
        batch.drop_column("dead_at")
