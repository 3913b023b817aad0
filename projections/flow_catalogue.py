"""Published flows. Every publish stores an immutable, numbered copy of the document;
journeys receive that copy in their input and never read this table again.

Drafts and status changes (pause, resume, archive) live in `flow_lifecycle`."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from domain.flow import Flow, FlowStatus
from domain.flow_status import next_status
from domain.validation import Problem, validate_flow
from projections.contacts import known_fields
from projections.dialect import insert
from projections.schema import flow_versions, flows


class CatalogueError(ValueError):
    """Anything the catalogue refuses; the message is meant for the person who asked."""


class UnknownFlow(CatalogueError):
    def __init__(self, flow_id: str):
        self.flow_id = flow_id
        super().__init__(f"there is no flow {flow_id!r}")


class UnknownVersion(CatalogueError):
    def __init__(self, flow_id: str, version: int):
        super().__init__(f"flow {flow_id!r} has no version {version}")


class PublishRefused(CatalogueError):
    def __init__(self, flow_id: str, problems: list[Problem]):
        self.problems = problems
        super().__init__(
            f"flow {flow_id!r} has problems:\n" + "\n".join(f"  {p}" for p in problems)
        )


@dataclass(frozen=True)
class FlowRecord:
    flow_id: str
    name: str | None
    status: FlowStatus
    current_version: int  # 0 until the first publish
    draft: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


def publish(
    conn: Connection,
    flow: Flow,
    *,
    allow_private_targets: bool = False,
    known_scripts: frozenset[str] | None = None,
    known_topics: frozenset[str] | None = None,
    preference_links: bool | None = None,
) -> Flow:
    """Store a new version unless the document is unchanged since the last one
    (re-publishing the same file is a no-op, so the demo can run twice). Refused for an
    archived flow; a paused flow gets the version but stays paused (see domain.flow_status).
    `allow_private_targets`: the deployment's settings.webhook_allow_private_targets;
    unless set, a webhook or attachment URL on an internal address refuses the publish.
    `known_scripts`: the deployment's registered scripts (None: not checked)."""
    # Merge tags are checked against the fields contacts really have.
    problems = validate_flow(
        flow,
        known_fields(conn),
        allow_private_targets=allow_private_targets,
        known_scripts=known_scripts,
        known_topics=known_topics,
        preference_links=preference_links,
    )
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise PublishRefused(flow.id, errors)
    record = find_flow(conn, flow.id)
    status = next_status(flow.id, record.status if record else None, "publish")
    current = latest_version(conn, flow.id)
    if current is not None and _content(current) == _content(flow):
        return current
    version = (current.version if current else 0) + 1
    now = datetime.now(UTC)
    published = flow.model_copy(update={"version": version, "published_at": now})
    conn.execute(
        flow_versions.insert().values(
            flow_id=flow.id,
            version=version,
            document=published.model_dump(mode="json"),
            published_at=now,
        )
    )
    statement = insert(conn, flows).values(
        flow_id=flow.id,
        status=status,
        current_version=version,
        name=flow.name[:200] or None,
        created_at=now,
        updated_at=now,
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["flow_id"],
            set_={
                "status": statement.excluded.status,
                "current_version": statement.excluded.current_version,
                "name": statement.excluded.name,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )
    return published


def _content(flow: Flow) -> dict:
    return flow.model_dump(mode="json", exclude={"version", "published_at"})


def find_flow(conn: Connection, flow_id: str) -> FlowRecord | None:
    row = conn.execute(select(flows).where(flows.c.flow_id == flow_id)).first()
    return _record(row) if row else None


def get_flow(conn: Connection, flow_id: str) -> FlowRecord:
    record = find_flow(conn, flow_id)
    if record is None:
        raise UnknownFlow(flow_id)
    return record


def get_status(conn: Connection, flow_id: str) -> FlowStatus:
    return get_flow(conn, flow_id).status


def list_flows(conn: Connection) -> list[FlowRecord]:
    return [_record(row) for row in conn.execute(select(flows).order_by(flows.c.flow_id)).all()]


def _record(row) -> FlowRecord:
    return FlowRecord(
        flow_id=row.flow_id,
        name=row.name,
        status=FlowStatus(row.status),
        current_version=row.current_version,
        draft=row.draft,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def latest_version(conn: Connection, flow_id: str) -> Flow | None:
    row = conn.execute(
        select(flow_versions.c.document)
        .where(flow_versions.c.flow_id == flow_id)
        .order_by(flow_versions.c.version.desc())
        .limit(1)
    ).first()
    return Flow.model_validate(row.document) if row else None


def get_version(conn: Connection, flow_id: str, version: int) -> Flow:
    row = conn.execute(
        select(flow_versions.c.document).where(
            (flow_versions.c.flow_id == flow_id) & (flow_versions.c.version == version)
        )
    ).first()
    if row is None:
        get_flow(conn, flow_id)  # a missing flow is the clearer error
        raise UnknownVersion(flow_id, version)
    return Flow.model_validate(row.document)


def published_flows(conn: Connection) -> list[Flow]:
    """The current version of every flow that is live (published, not paused or archived)."""
    rows = conn.execute(
        select(flow_versions.c.document)
        .join(
            flows,
            (flows.c.flow_id == flow_versions.c.flow_id)
            & (flows.c.current_version == flow_versions.c.version),
        )
        .where(flows.c.status == FlowStatus.PUBLISHED)
        .order_by(flows.c.flow_id)
    ).all()
    return [Flow.model_validate(row.document) for row in rows]


def versions(conn: Connection, flow_id: str) -> list[Flow]:
    rows = conn.execute(
        select(flow_versions.c.document)
        .where(flow_versions.c.flow_id == flow_id)
        .order_by(flow_versions.c.version)
    ).all()
    return [Flow.model_validate(row.document) for row in rows]
