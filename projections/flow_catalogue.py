"""Published flows. Every publish stores an immutable, numbered copy of the document;
journeys receive that copy in their input and never read this table again."""

from datetime import UTC, datetime

from sqlalchemy import Connection, select

from domain.flow import Flow, FlowStatus
from domain.validation import Problem, validate_flow
from projections.dialect import insert
from projections.schema import flow_versions, flows


class PublishRefused(ValueError):
    def __init__(self, flow_id: str, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"flow {flow_id!r} has problems:\n" + "\n".join(f"  {p}" for p in problems))


def publish(conn: Connection, flow: Flow) -> Flow:
    """Store a new version unless the document is unchanged since the last one
    (re-publishing the same file is a no-op, so the demo can run twice)."""
    errors = [p for p in validate_flow(flow) if p.severity == "error"]
    if errors:
        raise PublishRefused(flow.id, errors)
    current = latest_version(conn, flow.id)
    if current is not None and _content(current) == _content(flow):
        return current
    version = (current.version if current else 0) + 1
    now = datetime.now(UTC)
    published = flow.model_copy(update={"version": version, "published_at": now})
    conn.execute(flow_versions.insert().values(
        flow_id=flow.id, version=version, document=published.model_dump(mode="json"),
        published_at=now,
    ))
    statement = insert(conn, flows).values(
        flow_id=flow.id, status=FlowStatus.PUBLISHED, current_version=version, updated_at=now)
    conn.execute(statement.on_conflict_do_update(
        index_elements=["flow_id"],
        set_={"status": statement.excluded.status,
              "current_version": statement.excluded.current_version,
              "updated_at": statement.excluded.updated_at},
    ))
    return published


def _content(flow: Flow) -> dict:
    return flow.model_dump(mode="json", exclude={"version", "published_at"})


def latest_version(conn: Connection, flow_id: str) -> Flow | None:
    row = conn.execute(
        select(flow_versions.c.document).where(flow_versions.c.flow_id == flow_id)
        .order_by(flow_versions.c.version.desc()).limit(1)
    ).first()
    return Flow.model_validate(row.document) if row else None


def published_flows(conn: Connection) -> list[Flow]:
    """The current version of every flow that is live (published, not paused or archived)."""
    rows = conn.execute(
        select(flow_versions.c.document)
        .join(flows, (flows.c.flow_id == flow_versions.c.flow_id)
              & (flows.c.current_version == flow_versions.c.version))
        .where(flows.c.status == FlowStatus.PUBLISHED)
        .order_by(flows.c.flow_id)
    ).all()
    return [Flow.model_validate(row.document) for row in rows]


def versions(conn: Connection, flow_id: str) -> list[Flow]:
    rows = conn.execute(
        select(flow_versions.c.document).where(flow_versions.c.flow_id == flow_id)
        .order_by(flow_versions.c.version)
    ).all()
    return [Flow.model_validate(row.document) for row in rows]
