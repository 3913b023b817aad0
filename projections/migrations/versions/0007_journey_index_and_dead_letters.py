"""The journey index (which journeys each contact is in) and dead-letter dispatches.

The index starts empty: journeys started before it are found by `dripstone db
reindex-journeys`, which lists running journeys from Temporal's visibility.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

from projections.types import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("event_dispatches", sa.Column("dead_at", UtcDateTime, nullable=True))
    op.create_table(
        "journey_index",
        sa.Column("workflow_id", sa.String(600), nullable=False),
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
    op.create_index("ix_journey_index_contact_id_status", "journey_index",
                    ["contact_id", "status"])
    op.create_index("ix_journey_index_flow_id_status", "journey_index", ["flow_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_journey_index_flow_id_status", "journey_index")
    op.drop_index("ix_journey_index_contact_id_status", "journey_index")
    op.drop_table("journey_index")
    with op.batch_alter_table("event_dispatches") as batch:
        batch.drop_column("dead_at")
