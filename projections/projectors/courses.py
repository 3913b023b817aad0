"""The course platform: account, course and step progress, and last activity."""

from sqlalchemy import Connection

from domain.events import ContactEvent, EventType
from projections.dialect import insert, least
from projections.projectors.common import contact_earliest, contact_latest, earliest, upsert_seen
from projections.schema import course_progress, course_steps


def active(conn: Connection, event: ContactEvent) -> None:
    contact_latest(conn, event, "last_active_at")


def account_created(conn: Connection, event: ContactEvent) -> None:
    contact_earliest(conn, event, "course_account_at")
    active(conn, event)


def course_progressed(conn: Connection, event: ContactEvent) -> None:
    """course.started, step_completed and completed: each implies the course was started
    (events can be lost or reordered), an account to take it with, and activity."""
    account_created(conn, event)
    at = event.occurred_at
    completed = at if event.type == EventType.COURSE_COMPLETED else None
    statement = insert(conn, course_progress).values(
        contact_id=event.contact_id, course=event.payload["course"], started_at=at,
        completed_at=completed)
    set_ = {"started_at": least(conn, course_progress.c.started_at, statement.excluded.started_at)}
    if completed is not None:
        set_["completed_at"] = earliest(conn, course_progress.c.completed_at,
                                        statement.excluded.completed_at)
    conn.execute(statement.on_conflict_do_update(index_elements=["contact_id", "course"], set_=set_))
    if event.type == EventType.COURSE_STEP_COMPLETED:
        upsert_seen(conn, course_steps, event,
                    {"course": event.payload["course"], "step": event.payload["step"]},
                    first="completed_at")
