"""The course platform: account, course and step progress, and last activity."""

from sqlalchemy import Connection

from domain.events import ContactEvent, EventType
from projections.dialect import insert, least
from projections.projectors.common import contact_earliest, contact_latest, earliest, upsert_seen
from projections.projectors.writes import Writes
from projections.schema import course_progress, course_steps


def active(w: Writes, event: ContactEvent) -> None:
    contact_latest(w, event, "last_active_at")


def account_created(w: Writes, event: ContactEvent) -> None:
    contact_earliest(w, event, "course_account_at")
    active(w, event)


def _progress_statement(completed: bool):
    # Two statements, not one: SQLite's min() of NULL is NULL, so a completion may only
    # be folded in by an event that carries one.
    def build(conn: Connection):
        statement = insert(conn, course_progress)
        set_ = {
            "started_at": least(conn, course_progress.c.started_at, statement.excluded.started_at)
        }
        if completed:
            set_["completed_at"] = earliest(
                conn, course_progress.c.completed_at, statement.excluded.completed_at
            )
        return statement.on_conflict_do_update(index_elements=["contact_id", "course"], set_=set_)

    return build


def course_progressed(w: Writes, event: ContactEvent) -> None:
    """course.started, step_completed and completed: each implies the course was started
    (events can be lost or reordered), an account to take it with, and activity."""
    account_created(w, event)
    at = event.occurred_at
    completed = event.type == EventType.COURSE_COMPLETED
    w.add(
        ("course-progress", completed),
        _progress_statement(completed),
        {
            "contact_id": event.contact_id,
            "course": event.payload["course"],
            "started_at": at,
            "completed_at": at if completed else None,
        },
    )
    if event.type == EventType.COURSE_STEP_COMPLETED:
        upsert_seen(
            w,
            course_steps,
            event,
            {"course": event.payload["course"], "step": event.payload["step"]},
            first="completed_at",
        )
