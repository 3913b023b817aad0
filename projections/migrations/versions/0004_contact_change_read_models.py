"""Read models for journeys' contact changes: offers, memberships, list / selection /
project / fulfillment membership, notes, CRM activities, orders, transactions and lead
assignments; plus the lead routers' round-robin counters (bookkeeping, not rebuilt).

No stored event before this revision feeds these tables (their event types are new), so
nothing needs replaying.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from projections.types import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NAME = 200


def _contact_id() -> sa.Column:
    return sa.Column("contact_id", sa.String(128), nullable=False)


def _changed_at() -> sa.Column:
    return sa.Column("changed_at", UtcDateTime, nullable=False)


def upgrade() -> None:
    op.create_table(
        "contact_offers",
        _contact_id(),
        sa.Column("product", sa.String(NAME), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("discount_percent", sa.Float),
        sa.Column("discount_amount", sa.Float),
        sa.Column("expires_at", UtcDateTime),
        _changed_at(),
        sa.Column("terms_changed_at", UtcDateTime),
        sa.PrimaryKeyConstraint("contact_id", "product", name="pk_contact_offers"),
    )
    op.create_table(
        "memberships",
        _contact_id(),
        sa.Column("site", sa.String(NAME), nullable=False),
        sa.Column("access", sa.String(20), nullable=False),
        _changed_at(),
        sa.PrimaryKeyConstraint("contact_id", "site", name="pk_memberships"),
    )
    op.create_table(
        "list_memberships",
        _contact_id(),
        sa.Column("list_type", sa.String(20), nullable=False),
        sa.Column("list_id", sa.String(NAME), nullable=False),
        sa.Column("member", sa.Boolean, nullable=False),
        _changed_at(),
        sa.PrimaryKeyConstraint("contact_id", "list_type", "list_id", name="pk_list_memberships"),
    )
    op.create_table(
        "contact_notes",
        sa.Column("event_id", sa.String(200), nullable=False),
        _contact_id(),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("flow_id", sa.String(64)),
        sa.Column("step_id", sa.String(64)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_contact_notes"),
    )
    op.create_index(
        "ix_contact_notes_contact_id_created_at", "contact_notes", ["contact_id", "created_at"]
    )
    op.create_table(
        "crm_activities",
        sa.Column("activity_id", sa.String(200), nullable=False),
        _contact_id(),
        sa.Column("activity", sa.String(20), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("type", sa.String(NAME)),
        sa.Column("due_at", UtcDateTime),
        sa.Column("assignee", sa.String(128)),
        sa.Column("status", sa.String(50), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("category", sa.String(NAME)),
        sa.Column("message", sa.Text),
        sa.Column("amount", sa.Float),
        sa.Column("flow_id", sa.String(64)),
        sa.Column("step_id", sa.String(64)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("activity_id", name="pk_crm_activities"),
    )
    op.create_index(
        "ix_crm_activities_contact_id_created_at", "crm_activities", ["contact_id", "created_at"]
    )
    op.create_table(
        "orders",
        _contact_id(),
        sa.Column("order_id", sa.String(NAME), nullable=False),
        sa.Column("product", sa.String(NAME)),
        sa.Column("amount", sa.Float),
        sa.Column("currency", sa.String(10)),
        sa.Column("recurring", sa.Boolean),
        sa.Column("status", sa.String(20), nullable=False),
        _changed_at(),
        sa.PrimaryKeyConstraint("contact_id", "order_id", name="pk_orders"),
    )
    op.create_table(
        "transactions",
        _contact_id(),
        sa.Column("transaction_id", sa.String(NAME), nullable=False),
        sa.Column("order_id", sa.String(NAME)),
        sa.Column("amount", sa.Float),
        sa.Column("currency", sa.String(10)),
        sa.Column("status", sa.String(20), nullable=False),
        _changed_at(),
        sa.PrimaryKeyConstraint("contact_id", "transaction_id", name="pk_transactions"),
    )
    op.create_table(
        "lead_assignments",
        _contact_id(),
        sa.Column("router", sa.String(NAME), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        _changed_at(),
        sa.PrimaryKeyConstraint("contact_id", "router", name="pk_lead_assignments"),
    )
    op.create_table(
        "lead_router_turns",
        sa.Column("router", sa.String(NAME), nullable=False),
        sa.Column("turns", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("router", name="pk_lead_router_turns"),
    )


def downgrade() -> None:
    for table in (
        "lead_router_turns",
        "lead_assignments",
        "transactions",
        "orders",
        "crm_activities",
        "contact_notes",
        "list_memberships",
        "memberships",
        "contact_offers",
    ):
        op.drop_table(table)
