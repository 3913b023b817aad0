"""Mailings and their recipients per step; the providers' shared send pace; which sent
messages were transactional (frequency caps leave them out).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from projections.types import Json, UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailings",
        sa.Column("mailing_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("document", Json, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=True),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.Column("current_step", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("mailing_id", name="pk_mailings"),
    )
    op.create_table(
        "mailing_recipients",
        sa.Column("mailing_id", sa.String(64), nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("contact_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("sent_at", UtcDateTime, nullable=True),
        sa.Column("converts_until", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint(
            "mailing_id", "step_id", "contact_id", name="pk_mailing_recipients"
        ),
    )
    op.create_index(
        "ix_mailing_recipients_mailing_id_step_id_status_due_at",
        "mailing_recipients",
        ["mailing_id", "step_id", "status", "due_at"],
    )
    op.create_index(
        "ix_mailing_recipients_contact_id_mailing_id",
        "mailing_recipients",
        ["contact_id", "mailing_id"],
    )
    with op.batch_alter_table("sent_messages") as table:
        table.add_column(sa.Column("transactional", sa.Boolean, nullable=True))
    op.create_table(
        "provider_pace",
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("next_free_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("provider", name="pk_provider_pace"),
    )


def downgrade() -> None:
    op.drop_table("provider_pace")
    with op.batch_alter_table("sent_messages") as table:
        table.drop_column("transactional")
    op.drop_index("ix_mailing_recipients_contact_id_mailing_id", "mailing_recipients")
    op.drop_index("ix_mailing_recipients_mailing_id_step_id_status_due_at", "mailing_recipients")
    op.drop_table("mailing_recipients")
    op.drop_table("mailings")
