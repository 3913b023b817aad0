"""Read models every condition decides from: products, purchases, subscriptions, course
progress, email engagement, channel status, funnels, pages and forms; activity and the
last SMS reply on the contact row; an index for lead-event lookups.

Events stored before this revision are projected into the new tables by
projections.database.migrate, which rebuilds the read models after crossing it (a
migration must not run today's projector: it would meet an older schema next year).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from projections.types import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NAME = 200


def _contact_id() -> sa.Column:
    return sa.Column("contact_id", sa.String(128), nullable=False)


def upgrade() -> None:
    op.create_index("ix_events_contact_id_type", "events", ["contact_id", "type"])
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("course_account_at", UtcDateTime))
        batch.add_column(sa.Column("last_active_at", UtcDateTime))
        batch.add_column(sa.Column("last_reply", sa.Text))
        batch.add_column(sa.Column("last_reply_at", UtcDateTime))
    op.create_table(
        "contact_products",
        _contact_id(),
        sa.Column("product", sa.String(NAME), nullable=False),
        sa.Column("present", sa.Boolean, nullable=False),
        sa.Column("changed_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "product", name="pk_contact_products"),
    )
    op.create_table(
        "purchases",
        sa.Column("event_id", sa.String(200), nullable=False),
        _contact_id(),
        sa.Column("product", sa.String(NAME), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("amount", sa.Float),
        sa.Column("currency", sa.String(10)),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_purchases"),
    )
    op.create_index("ix_purchases_contact_id_product", "purchases", ["contact_id", "product"])
    op.create_table(
        "subscriptions",
        _contact_id(),
        sa.Column("plan", sa.String(NAME), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("changed_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "plan", name="pk_subscriptions"),
    )
    op.create_table(
        "course_progress",
        _contact_id(),
        sa.Column("course", sa.String(NAME), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("completed_at", UtcDateTime),
        sa.PrimaryKeyConstraint("contact_id", "course", name="pk_course_progress"),
    )
    op.create_table(
        "course_steps",
        _contact_id(),
        sa.Column("course", sa.String(NAME), nullable=False),
        sa.Column("step", sa.String(NAME), nullable=False),
        sa.Column("completed_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "course", "step", name="pk_course_steps"),
    )
    op.create_table(
        "email_engagement",
        _contact_id(),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("touch_key", sa.String(64), nullable=False),
        sa.Column("message_key", sa.String(400)),
        sa.Column("url", sa.Text),
        sa.Column("flow_id", sa.String(64)),
        sa.Column("step_id", sa.String(64)),
        sa.Column("first_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "kind", "touch_key", name="pk_email_engagement"),
    )
    op.create_table(
        "channel_status",
        _contact_id(),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("list_id", sa.String(NAME), nullable=False),
        sa.Column("unsubscribed", sa.Boolean, nullable=False),
        sa.Column("changed_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "channel", "list_id", name="pk_channel_status"),
    )
    op.create_table(
        "funnel_members",
        _contact_id(),
        sa.Column("funnel", sa.String(NAME), nullable=False),
        sa.Column("first_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "funnel", name="pk_funnel_members"),
    )
    op.create_table(
        "page_visits",
        _contact_id(),
        sa.Column("page", sa.String(NAME), nullable=False),
        sa.Column("funnel", sa.String(NAME), nullable=False),
        sa.Column("first_at", UtcDateTime, nullable=False),
        sa.Column("last_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "page", "funnel", name="pk_page_visits"),
    )
    op.create_table(
        "form_submissions",
        _contact_id(),
        sa.Column("form_id", sa.String(NAME), nullable=False),
        sa.Column("first_at", UtcDateTime, nullable=False),
        sa.Column("last_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "form_id", name="pk_form_submissions"),
    )


def downgrade() -> None:
    for table in (
        "form_submissions",
        "page_visits",
        "funnel_members",
        "channel_status",
        "email_engagement",
        "course_steps",
        "course_progress",
        "subscriptions",
        "purchases",
        "contact_products",
    ):
        op.drop_table(table)
    with op.batch_alter_table("contacts") as batch:
        for column in ("last_reply_at", "last_reply", "last_active_at", "course_account_at"):
            batch.drop_column(column)
    op.drop_index("ix_events_contact_id_type", table_name="events")
