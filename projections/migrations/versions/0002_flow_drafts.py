"""Flow drafts: a flow's name, its working draft and when it was created.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from projections.types import Json, UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flows") as batch:
        batch.add_column(sa.Column("name", sa.String(200)))
        batch.add_column(sa.Column("draft", Json))
        batch.add_column(sa.Column("created_at", UtcDateTime))
    _backfill()
    # NOT NULL only once every existing row has a value (SQLite rebuilds the table here).
    with op.batch_alter_table("flows") as batch:
        batch.alter_column("created_at", existing_type=UtcDateTime, nullable=False)


def _backfill() -> None:
    """Flows published before drafts existed: the first version's time is when the flow
    was created, and the live version's document holds its name."""
    flows = sa.table(
        "flows",
        sa.column("flow_id", sa.String),
        sa.column("current_version", sa.Integer),
        sa.column("name", sa.String),
        sa.column("created_at", UtcDateTime),
        sa.column("updated_at", UtcDateTime),
    )
    versions = sa.table(
        "flow_versions",
        sa.column("flow_id", sa.String),
        sa.column("version", sa.Integer),
        sa.column("document", Json),
        sa.column("published_at", UtcDateTime),
    )
    conn = op.get_bind()
    for row in conn.execute(sa.select(flows)).all():
        first = conn.execute(
            sa.select(sa.func.min(versions.c.published_at)).where(versions.c.flow_id == row.flow_id)
        ).scalar()
        document = conn.execute(
            sa.select(versions.c.document).where(
                (versions.c.flow_id == row.flow_id) & (versions.c.version == row.current_version)
            )
        ).scalar()
        name = (document or {}).get("name") or None
        conn.execute(
            flows.update()
            .where(flows.c.flow_id == row.flow_id)
            .values(created_at=first or row.updated_at, name=name[:200] if name else None)
        )


def downgrade() -> None:
    with op.batch_alter_table("flows") as batch:
        batch.drop_column("created_at")
        batch.drop_column("draft")
        batch.drop_column("name")
