"""Experiments: variant assignments per step visit and each experiment's decided winner.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from projections.types import Json, UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiment_assignments",
        sa.Column("message_key", sa.String(400), nullable=False),
        sa.Column("flow_id", sa.String(64), nullable=False),
        sa.Column("flow_version", sa.Integer, nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("contact_id", sa.String(128), nullable=False),
        sa.Column("journey_id", sa.String(1000), nullable=False),
        sa.Column("variant", sa.String(100), nullable=False),
        sa.Column("phase", sa.String(10), nullable=False),
        sa.Column("assigned_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("message_key", name="pk_experiment_assignments"),
    )
    op.create_index(
        "ix_experiment_assignments_flow_id_step_id_phase_variant",
        "experiment_assignments",
        ["flow_id", "step_id", "phase", "variant"],
    )
    op.create_table(
        "experiment_decisions",
        sa.Column("flow_id", sa.String(64), nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("winner", sa.String(100), nullable=False),
        sa.Column("rule", sa.String(20), nullable=False),
        sa.Column("decided_at", UtcDateTime, nullable=False),
        sa.Column("result", Json, nullable=False),
        sa.PrimaryKeyConstraint("flow_id", "step_id", name="pk_experiment_decisions"),
    )


def downgrade() -> None:
    op.drop_table("experiment_decisions")
    op.drop_index(
        "ix_experiment_assignments_flow_id_step_id_phase_variant", "experiment_assignments"
    )
    op.drop_table("experiment_assignments")
