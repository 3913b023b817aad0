"""Per-step analytics: every step visit a journey reports, and where each indexed
journey is now.

Journeys running before this release report their steps from their next step on; until
then the index does not know their step (current_step NULL), and per-step counts say so
(`unplaced`) rather than guess.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from projections.types import UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("journey_index", sa.Column("current_step", sa.String(64), nullable=True))
    op.create_table(
        "journey_step_visits",
        sa.Column("workflow_id", sa.String(1000), nullable=False),
        sa.Column("enrollment_id", sa.String(400), nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("visit", sa.Integer, nullable=False),
        sa.Column("flow_id", sa.String(64), nullable=False),
        sa.Column("flow_version", sa.Integer, nullable=False),
        sa.Column("contact_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("result", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("message_key", sa.String(400), nullable=False),
        sa.Column("ended_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint(
            "workflow_id", "enrollment_id", "step_id", "visit", name="pk_journey_step_visits"
        ),
    )
    op.create_index(
        "ix_journey_step_visits_flow_id_flow_version_step_id",
        "journey_step_visits",
        ["flow_id", "flow_version", "step_id"],
    )
    op.create_index("ix_journey_step_visits_message_key", "journey_step_visits", ["message_key"])


def downgrade() -> None:
    op.drop_index("ix_journey_step_visits_message_key", "journey_step_visits")
    op.drop_index("ix_journey_step_visits_flow_id_flow_version_step_id", "journey_step_visits")
    op.drop_table("journey_step_visits")
    with op.batch_alter_table("journey_index") as batch:
        batch.drop_column("current_step")
