"""The journey index: which journeys each contact is in, and whether they still run.

Rows are written before a journey is started (so its end, recorded by the journey
itself, always lands after its start), revived when a closed id may start again, set
paused or running by the controls, and ended by the journey's last activity. A row that
says running for a journey Temporal no longer has heals itself: the router marks it
ended when the signal answers NOT_FOUND."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Insert, and_, delete, func, select, update

from projections.dialect import among, insert
from projections.schema import journey_index

RUNNING, PAUSED, ENDED = "running", "paused", "ended"
LIVE = (RUNNING, PAUSED)


@dataclass(frozen=True)
class IndexedJourney:
    workflow_id: str
    contact_id: str
    flow_id: str
    flow_version: int
    enrollment_id: str
    status: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    current_step: str | None = None


def _rows(result) -> list[IndexedJourney]:
    return [IndexedJourney(**row._mapping) for row in result]


def live_by_contact(
    conn: Connection, contact_ids: Iterable[str]
) -> dict[str, list[IndexedJourney]]:
    """Every running or paused journey of these contacts, in one query."""
    ids = sorted(set(contact_ids))
    found: dict[str, list[IndexedJourney]] = {}
    if not ids:
        return found
    rows = conn.execute(
        select(journey_index)
        .where(among(conn, journey_index.c.contact_id, ids), journey_index.c.status.in_(LIVE))
        .order_by(journey_index.c.started_at, journey_index.c.workflow_id)
    )
    for journey in _rows(rows):
        found.setdefault(journey.contact_id, []).append(journey)
    return found


def contacts_in_journeys(conn: Connection, contact_ids: Iterable[str]) -> set[str]:
    ids = sorted(set(contact_ids))
    if not ids:
        return set()
    return set(
        conn.execute(
            select(journey_index.c.contact_id)
            .distinct()
            .where(among(conn, journey_index.c.contact_id, ids), journey_index.c.status.in_(LIVE))
        ).scalars()
    )


def get(conn: Connection, workflow_id: str) -> IndexedJourney | None:
    rows = _rows(
        conn.execute(select(journey_index).where(journey_index.c.workflow_id == workflow_id))
    )
    return rows[0] if rows else None


def for_contact(
    conn: Connection, contact_id: str, flow_id: str | None = None, live_only: bool = False
) -> list[IndexedJourney]:
    query = select(journey_index).where(journey_index.c.contact_id == contact_id)
    if flow_id is not None:
        query = query.where(journey_index.c.flow_id == flow_id)
    if live_only:
        query = query.where(journey_index.c.status.in_(LIVE))
    return _rows(
        conn.execute(query.order_by(journey_index.c.started_at.desc(), journey_index.c.workflow_id))
    )


def live_page(
    conn: Connection, flow_id: str, after_workflow_id: str, limit: int
) -> list[IndexedJourney]:
    """A flow's live journeys by workflow id, for flow-wide operations that page."""
    return _rows(
        conn.execute(
            select(journey_index)
            .where(
                journey_index.c.flow_id == flow_id,
                journey_index.c.status.in_(LIVE),
                journey_index.c.workflow_id > after_workflow_id,
            )
            .order_by(journey_index.c.workflow_id)
            .limit(limit)
        )
    )


def count_live(conn: Connection, flow_id: str) -> int:
    return conn.execute(
        select(func.count())
        .select_from(journey_index)
        .where(journey_index.c.flow_id == flow_id, journey_index.c.status.in_(LIVE))
    ).scalar_one()


def claim_start(
    conn: Connection,
    *,
    workflow_id: str,
    contact_id: str,
    flow_id: str,
    flow_version: int,
    enrollment_id: str,
    now: datetime,
    current_step: str | None = None,
) -> str:
    """Record a journey about to start: a new row, or a closed one revived for a new
    enrollment. Returns the enrollment the live row belongs to: this one (start it; a
    retried start of the same enrollment finds its own row) or another (that journey
    runs: leave its row alone, so its own end still finds it)."""
    _insert_or_revive(
        conn,
        {
            "workflow_id": workflow_id,
            "contact_id": contact_id,
            "flow_id": flow_id,
            "flow_version": flow_version,
            "enrollment_id": enrollment_id,
            "status": RUNNING,
            "started_at": now,
            "updated_at": now,
            "ended_at": None,
            "current_step": current_step,
        },
    )
    return conn.execute(
        select(journey_index.c.enrollment_id).where(journey_index.c.workflow_id == workflow_id)
    ).scalar_one()


# Built once per dialect: `excluded` makes a fresh alias of the table with every column
# each time it is read, and that was most of the router's cost of claiming a start.
_REVIVE_STATEMENTS: dict[str, Insert] = {}


def _insert_or_revive(conn: Connection, values: dict) -> None:
    """A new row, or an ended one taken over; a live row is left as it is. `values`
    names every column: the one statement sets them all."""
    statement = _REVIVE_STATEMENTS.get(conn.dialect.name)
    if statement is None:
        new = insert(conn, journey_index)
        statement = new.on_conflict_do_update(
            index_elements=["workflow_id"],
            set_={c.name: new.excluded[c.name] for c in journey_index.c if c.name != "workflow_id"},
            where=journey_index.c.status == ENDED,
        )
        _REVIVE_STATEMENTS[conn.dialect.name] = statement
    conn.execute(statement, values)


def set_status(
    conn: Connection,
    workflow_ids: Iterable[str],
    status: str,
    now: datetime,
    enrollment_id: str | None = None,
) -> int:
    """Move live rows to `status`; ended rows stay ended. With `enrollment_id`, only the
    row of that enrollment (a journey ending must not end the next one under its id)."""
    ids = list(workflow_ids)
    if not ids:
        return 0
    where = [journey_index.c.workflow_id.in_(ids), journey_index.c.status.in_(LIVE)]
    if enrollment_id is not None:
        where.append(journey_index.c.enrollment_id == enrollment_id)
    values = {"status": status, "updated_at": now}
    if status == ENDED:
        values["ended_at"] = now
    return conn.execute(update(journey_index).where(and_(*where)).values(**values)).rowcount


def forget(conn: Connection, workflow_id: str, enrollment_id: str) -> None:
    """Drop a claim whose start did not happen."""
    conn.execute(
        delete(journey_index).where(
            journey_index.c.workflow_id == workflow_id,
            journey_index.c.enrollment_id == enrollment_id,
        )
    )


def upsert_live(conn: Connection, journey: IndexedJourney) -> None:
    """A live journey found in Temporal's visibility (`dripstone journeys reindex`)."""
    _insert_or_revive(conn, {k: getattr(journey, k) for k in IndexedJourney.__dataclass_fields__})


def live_page_of_versions(
    conn: Connection, flow_id: str, versions: Iterable[int], after_workflow_id: str, limit: int
) -> list[IndexedJourney]:
    """A page of a flow's live journeys on these versions, by workflow id (migrations)."""
    return _rows(
        conn.execute(
            select(journey_index)
            .where(
                journey_index.c.flow_id == flow_id,
                journey_index.c.status.in_(LIVE),
                journey_index.c.flow_version.in_(sorted(set(versions))),
                journey_index.c.workflow_id > after_workflow_id,
            )
            .order_by(journey_index.c.workflow_id)
            .limit(limit)
        )
    )


def count_live_by_version(conn: Connection, flow_id: str) -> dict[int, int]:
    rows = conn.execute(
        select(journey_index.c.flow_version, func.count())
        .where(journey_index.c.flow_id == flow_id, journey_index.c.status.in_(LIVE))
        .group_by(journey_index.c.flow_version)
    )
    return {version: count for version, count in rows}


def move_version(
    conn: Connection,
    workflow_id: str,
    enrollment_id: str,
    from_version: int,
    to_version: int,
    now: datetime,
    current_step: str | None = None,
) -> int:
    """A live journey that continued on another version of its flow (a migration), at
    `current_step` of that version when given (older journeys do not say; their row keeps
    its step until their next step report). Only from the version it left: a retried
    write, or a row revived meanwhile, is untouched."""
    moved = {"flow_version": to_version, "updated_at": now}
    if current_step is not None:
        moved["current_step"] = current_step
    return conn.execute(
        update(journey_index)
        .where(
            journey_index.c.workflow_id == workflow_id,
            journey_index.c.enrollment_id == enrollment_id,
            journey_index.c.status.in_(LIVE),
            journey_index.c.flow_version == from_version,
        )
        .values(**moved)
    ).rowcount
