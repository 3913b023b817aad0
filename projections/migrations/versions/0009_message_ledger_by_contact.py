"""The message ledger by contact, newest first: what `GET /v1/contacts/{id}/messages`
and `dripstone contact messages` page through, without reading the whole ledger.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_message_ledger_contact_id_created_at", "message_ledger", ["contact_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_message_ledger_contact_id_created_at", "message_ledger")
