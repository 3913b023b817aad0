"""Drafts and status changes: save a draft (problems and all), publish it, pause,
resume, archive, and the checks manual enrollment needs.

The draft is a working copy beside the published versions: saving one never touches
the live version, so editing a running campaign is safe until someone publishes.
"""

import json
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection, null, select

from domain.flow import Flow, FlowStatus
from domain.flow_status import next_status
from domain.identifiers import FlowId
from domain.validation import Problem, parse_flow
from projections.contacts import known_fields
from projections.flow_catalogue import (
    CatalogueError,
    PublishRefused,
    find_flow,
    get_flow,
    get_version,
    publish,
)
from projections.schema import contacts, flows

_FLOW_ID = TypeAdapter(FlowId)


class DraftRejected(CatalogueError):
    """The document cannot even be filed: without a valid id there is no flow to file it under."""

    def __init__(self, problem: Problem):
        self.problems = [problem]
        super().__init__(f"the draft cannot be saved: {problem}")


class NothingToPublish(CatalogueError):
    def __init__(self, flow_id: str):
        super().__init__(f"flow {flow_id!r} has no unpublished draft")


class ManualEnrollmentRefused(CatalogueError):
    pass


def save_draft(
    conn: Connection,
    document: dict[str, Any],
    *,
    allow_private_targets: bool = False,
    known_scripts: frozenset[str] | None = None,
    known_topics: frozenset[str] | None = None,
    preference_links: bool | None = None,
) -> list[Problem]:
    """File `document` as the flow's draft and return its problems (all severities).
    The raw document is kept as given, so a half-finished flow survives until fixed.
    `allow_private_targets`: as for flow_catalogue.publish."""
    flow_id = _draft_id(document)
    document = _jsonable(document)
    _, problems = parse_flow(
        document,
        known_fields(conn),
        allow_private_targets=allow_private_targets,
        known_scripts=known_scripts,
        known_topics=known_topics,
        preference_links=preference_links,
    )
    record = find_flow(conn, flow_id)
    next_status(flow_id, record.status if record else None, "save a draft of")
    now = datetime.now(UTC)
    if record is None:
        conn.execute(
            flows.insert().values(
                flow_id=flow_id,
                status=FlowStatus.DRAFT,
                current_version=0,
                name=_name(document),
                draft=document,
                created_at=now,
                updated_at=now,
            )
        )
    else:
        values: dict[str, Any] = {"draft": document, "updated_at": now}
        if record.current_version == 0:
            # Once published, the name shown is the live version's, set by publish.
            values["name"] = _name(document)
        conn.execute(flows.update().where(flows.c.flow_id == flow_id).values(**values))
    return problems


def publish_draft(
    conn: Connection,
    flow_id: str,
    *,
    allow_private_targets: bool = False,
    known_scripts: frozenset[str] | None = None,
    known_topics: frozenset[str] | None = None,
    preference_links: bool | None = None,
) -> Flow:
    """Publish the saved draft as the next version; refused while any error remains
    (warnings do not block). The draft is cleared once it is a version.
    `allow_private_targets`: as for flow_catalogue.publish."""
    record = get_flow(conn, flow_id)
    if record.draft is None:
        raise NothingToPublish(flow_id)
    flow, problems = parse_flow(
        record.draft,
        known_fields(conn),
        allow_private_targets=allow_private_targets,
        known_scripts=known_scripts,
        known_topics=known_topics,
        preference_links=preference_links,
    )
    errors = [p for p in problems if p.severity == "error"]
    if flow is None or errors:
        raise PublishRefused(flow_id, errors)
    published = publish(
        conn,
        flow,
        allow_private_targets=allow_private_targets,
        known_scripts=known_scripts,
        known_topics=known_topics,
        preference_links=preference_links,
    )
    conn.execute(flows.update().where(flows.c.flow_id == flow_id).values(draft=null()))
    return published


def pause(conn: Connection, flow_id: str) -> FlowStatus:
    """Stop enrolling; journeys already running carry on with their version."""
    return _transition(conn, flow_id, "pause")


def resume(conn: Connection, flow_id: str) -> FlowStatus:
    return _transition(conn, flow_id, "resume")


def archive(conn: Connection, flow_id: str) -> FlowStatus:
    """Retire the flow for good; its versions stay readable."""
    return _transition(conn, flow_id, "archive")


def _transition(conn: Connection, flow_id: str, action: str) -> FlowStatus:
    current = get_flow(conn, flow_id).status
    after = next_status(flow_id, current, action)
    # Compare-and-set: a concurrent change in between makes this update miss, and the
    # retry reports the transition against the status that really is there now.
    updated = conn.execute(
        flows.update()
        .where((flows.c.flow_id == flow_id) & (flows.c.status == current))
        .values(status=after, updated_at=datetime.now(UTC))
    )
    if updated.rowcount != 1:
        return _transition(conn, flow_id, action)
    return after


def manual_enrollment_flow(conn: Connection, flow_id: str, contact_id: str | None = None) -> Flow:
    """The live version to enroll a contact in by hand, skipping the trigger's filters.
    The contact must be known: a journey for a contact with no record has nothing to
    send to and would fail at its first message."""
    record = get_flow(conn, flow_id)
    if record.status != FlowStatus.PUBLISHED:
        raise ManualEnrollmentRefused(
            f"flow {flow_id!r} is {record.status.value}; only a published flow enrolls contacts"
        )
    flow = get_version(conn, flow_id, record.current_version)
    if not flow.enrollment.allow_manual:
        raise ManualEnrollmentRefused(
            f"flow {flow_id!r} version {flow.version} does not allow manual enrollment "
            "(enrollment.allow_manual is false)"
        )
    if (
        contact_id is not None
        and conn.execute(
            select(contacts.c.contact_id).where(contacts.c.contact_id == contact_id)
        ).first()
        is None
    ):
        raise ManualEnrollmentRefused(
            f"contact {contact_id!r} is unknown; send an event for it first"
        )
    return flow


def _draft_id(document: dict[str, Any]) -> str:
    try:
        return _FLOW_ID.validate_python(document.get("id"))
    except ValidationError as exc:
        raise DraftRejected(
            Problem(step_id=None, field="id", code="invalid", message=exc.errors()[0]["msg"])
        ) from None


def _name(document: dict[str, Any]) -> str | None:
    name = document.get("name")
    return name[:200] if isinstance(name, str) and name else None


def _jsonable(document: dict[str, Any]) -> dict[str, Any]:
    """YAML hands back dates and times as objects; the draft column holds JSON, so they
    become the ISO strings the models parse them from anyway."""

    def convert(value: Any) -> Any:
        if isinstance(value, (datetime, date, time)):
            return value.isoformat()
        raise TypeError(f"a {type(value).__name__} value has no JSON form")

    try:
        return json.loads(json.dumps(document, default=convert, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise DraftRejected(
            Problem(step_id=None, field="document", code="not_json", message=str(exc))
        ) from None
