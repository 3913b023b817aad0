"""The mailing catalogue and lifecycle: documents saved as drafts, then scheduled,
sending, paused, sent or cancelled. Transitions are conditional UPDATEs, so two callers
racing to send one mailing start it once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from domain.mailing import Mailing, MailingStatus
from projections.dialect import insert
from projections.mailing_schema import mailings

M = mailings.c

# Which statuses each action may leave from, and where it goes.
TRANSITIONS: dict[str, tuple[set[str], str]] = {
    "schedule": ({"draft"}, "scheduled"),
    "start": ({"draft", "scheduled"}, "sending"),
    "pause": ({"scheduled", "sending"}, "paused"),
    "resume": ({"paused"}, "sending"),
    "cancel": ({"draft", "scheduled", "sending", "paused"}, "cancelled"),
    "finish": ({"scheduled", "sending", "paused"}, "sent"),
}


class MailingNotFound(LookupError):
    def __init__(self, mailing_id: str):
        super().__init__(f"mailing {mailing_id!r} does not exist")
        self.mailing_id = mailing_id


class MailingConflict(ValueError):
    """The mailing's status does not allow the action (editing a sent mailing, sending a
    cancelled one)."""

    def __init__(self, mailing_id: str, action: str, status: str):
        super().__init__(f"mailing {mailing_id!r} is {status}: cannot {action} it")
        self.mailing_id, self.action, self.status = mailing_id, action, status


def save(conn: Connection, mailing: Mailing, document: dict[str, Any]) -> str:
    """Create the mailing as a draft, or replace its draft. Only a draft may change: what
    is scheduled or sending is what the workflow was given. Returns 'created' or 'updated'."""
    now = datetime.now(UTC)
    stored = mailing.model_dump(mode="json", exclude_none=True)
    inserted = conn.execute(
        insert(conn, mailings)
        .values(
            mailing_id=mailing.id,
            name=mailing.name,
            document=stored,
            status="draft",
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["mailing_id"])
        .returning(M.mailing_id)
    ).first()
    if inserted is not None:
        return "created"
    updated = conn.execute(
        mailings.update()
        .where(M.mailing_id == mailing.id, M.status == "draft")
        .values(name=mailing.name, document=stored, updated_at=now)
    ).rowcount
    if not updated:
        raise MailingConflict(mailing.id, "edit", status_of(conn, mailing.id))
    return "updated"


def get(conn: Connection, mailing_id: str) -> dict[str, Any]:
    row = conn.execute(select(mailings).where(M.mailing_id == mailing_id)).mappings().first()
    if row is None:
        raise MailingNotFound(mailing_id)
    return dict(row)


def load(conn: Connection, mailing_id: str) -> Mailing:
    return Mailing.model_validate(get(conn, mailing_id)["document"])


def status_of(conn: Connection, mailing_id: str) -> MailingStatus:
    status = conn.execute(select(M.status).where(M.mailing_id == mailing_id)).scalar()
    if status is None:
        raise MailingNotFound(mailing_id)
    return status


def listed(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            M.mailing_id,
            M.name,
            M.status,
            M.current_step,
            M.created_at,
            M.updated_at,
            M.started_at,
            M.finished_at,
        )
        .order_by(M.created_at.desc())
        .limit(limit)
    )
    return [dict(row) for row in rows.mappings()]


def transition(
    conn: Connection, mailing_id: str, action: str, *, current_step: str | None = None
) -> MailingStatus:
    """Move the mailing along TRANSITIONS, or raise MailingConflict naming its status.
    Repeating an action that already took effect (resuming a mailing that is sending)
    is a conflict too, so callers can tell "done now" from "was already"."""
    sources, target = TRANSITIONS[action]
    now = datetime.now(UTC)
    values: dict[str, Any] = {"status": target, "updated_at": now}
    if action == "start":
        values["started_at"] = now
    if action in ("finish", "cancel"):
        values["finished_at"] = now
    if current_step is not None:
        values["current_step"] = current_step
    moved = conn.execute(
        mailings.update()
        .where(M.mailing_id == mailing_id, M.status.in_(sorted(sources)))
        .values(**values)
    )
    if not moved.rowcount:
        raise MailingConflict(mailing_id, action, status_of(conn, mailing_id))
    return target


def note_step(conn: Connection, mailing_id: str, step_id: str) -> None:
    conn.execute(
        mailings.update()
        .where(M.mailing_id == mailing_id)
        .values(current_step=step_id, updated_at=datetime.now(UTC))
    )


def set_status(conn: Connection, mailing_id: str, status: MailingStatus) -> MailingStatus:
    conn.execute(
        mailings.update()
        .where(M.mailing_id == mailing_id)
        .values(status=status, updated_at=datetime.now(UTC))
    )
    return status
