"""Dispatch records, routing's transactional outbox.

A row is written in the same transaction that appends an event from outside (API, CLI,
provider webhooks, journeys' contact changes), so an event is never stored without a
promise to route it. The row goes once the event has reached Temporal. Until then the
dispatcher retries it with backoff, for as long as it takes.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, select, update

from domain.events import ContactEvent
from projections.dialect import among
from projections.event_rows import row_to_event
from projections.schema import event_dispatches, events

# The process that appended an event routes it straight away; the dispatcher only picks
# a row up once this has passed, so the two rarely route the same event (and when they
# do, routing is idempotent: journeys drop an event id they have already seen).
FAST_PATH_GRACE = timedelta(seconds=30)
# A claimed row is not due again for this long, so two dispatchers (API and worker
# processes) do not both work on it.
CLAIM_LEASE = timedelta(seconds=60)


def record(
    conn: Connection,
    appended: Sequence[ContactEvent],
    positions: dict[str, int],
    now: datetime,
    fast_path: bool = True,
) -> None:
    """`fast_path`: the appending process routes these itself, so the dispatcher leaves
    them alone for a grace period; without one (events journeys write), due at once."""
    if not appended:
        return
    due = now + FAST_PATH_GRACE if fast_path else now
    conn.execute(
        event_dispatches.insert(),
        [
            {
                "event_id": e.event_id,
                "position": positions[e.event_id],
                "contact_id": e.contact_id,
                "created_at": now,
                "attempts": 0,
                "next_attempt_at": due,
            }
            for e in appended
        ],
    )


def delivered(conn: Connection, event_ids: Iterable[str]) -> None:
    ids = list(event_ids)
    if ids:
        conn.execute(delete(event_dispatches).where(event_dispatches.c.event_id.in_(ids)))


def due_now(conn: Connection, event_ids: Iterable[str], now: datetime) -> None:
    ids = list(event_ids)
    if ids:
        conn.execute(
            update(event_dispatches)
            .where(event_dispatches.c.event_id.in_(ids))
            .values(next_attempt_at=now)
        )


def failed(
    conn: Connection,
    event_ids: Iterable[str],
    error: str,
    now: datetime,
    initial: timedelta,
    ceiling: timedelta,
) -> None:
    """Back off per row: initial, doubling with each attempt, never beyond the ceiling."""
    rows = conn.execute(
        select(event_dispatches.c.event_id, event_dispatches.c.attempts).where(
            event_dispatches.c.event_id.in_(list(event_ids))
        )
    ).all()
    for event_id, attempts in rows:
        wait = min(initial * (2 ** min(attempts, 30)), ceiling)
        conn.execute(
            update(event_dispatches)
            .where(event_dispatches.c.event_id == event_id)
            .values(attempts=attempts + 1, next_attempt_at=now + wait, last_error=error[:2000])
        )


def held_back(
    conn: Connection, contact_ids: Iterable[str], excluding: Iterable[str], now: datetime
) -> set[str]:
    """Contacts with an earlier event left to the dispatcher (its routing failed, or it
    is one a journey wrote, due at once): their new events must wait behind it, or a
    journey would see them out of order. Events another process is routing right now
    (in their fast-path grace) are not waited for."""
    ids, excluded = set(contact_ids), list(excluding)
    if not ids:
        return set()
    ours = event_dispatches.alias("ours")
    # Only rows before this batch's first event of the same contact: later ones wait
    # behind this batch, not the other way round.
    first_of_ours = (
        select(func.min(ours.c.position))
        .where(ours.c.contact_id == event_dispatches.c.contact_id, ours.c.event_id.in_(excluded))
        .scalar_subquery()
    )
    rows = conn.execute(
        select(event_dispatches.c.contact_id)
        .distinct()
        .where(
            event_dispatches.c.contact_id.in_(ids),
            event_dispatches.c.dead_at.is_(None),
            (event_dispatches.c.attempts > 0) | (event_dispatches.c.next_attempt_at <= now),
            event_dispatches.c.event_id.not_in(excluded),
            event_dispatches.c.position < func.coalesce(first_of_ours, 2**62),
        )
    )
    return {row.contact_id for row in rows}


def contacts_pending(conn: Connection, contact_ids: Iterable[str]) -> set[str]:
    """Contacts with an event still to be routed (not a dead letter)."""
    ids = sorted(set(contact_ids))
    if not ids:
        return set()
    return set(
        conn.execute(
            select(event_dispatches.c.contact_id)
            .distinct()
            .where(
                among(conn, event_dispatches.c.contact_id, ids),
                event_dispatches.c.dead_at.is_(None),
            )
        ).scalars()
    )


def claim_due(conn: Connection, now: datetime, limit: int) -> list[ContactEvent]:
    """The oldest due events, in store order, leased to the caller. A contact whose
    earliest pending event is not due yet gets none of its later ones either."""
    chosen = _due_in_order(conn, now, limit)
    if not chosen:
        return []
    # Only rows still due: a dispatcher in another process that claimed some of them
    # first keeps them, and for its contacts this one takes nothing after them.
    taken = set(
        conn.execute(
            update(event_dispatches)
            .where(
                event_dispatches.c.event_id.in_([e for e, _ in chosen]),
                event_dispatches.c.next_attempt_at <= now,
                event_dispatches.c.dead_at.is_(None),
            )
            .values(next_attempt_at=now + CLAIM_LEASE)
            .returning(event_dispatches.c.event_id)
        ).scalars()
    )
    kept, lost = [], set()
    for event_id, contact in chosen:
        if event_id in taken and contact not in lost:
            kept.append(event_id)
        else:
            lost.add(contact)
    given_back = [e for e, _ in chosen if e in taken and e not in kept]
    if given_back:
        due_now(conn, given_back, now)
    stored = conn.execute(
        select(events).where(events.c.event_id.in_(kept)).order_by(events.c.position)
    ).all()
    return [row_to_event(row) for row in stored]


def _due_in_order(
    conn: Connection, now: datetime, limit: int, pages: int = 20
) -> list[tuple[str, str]]:
    """(event id, contact) of the oldest due rows in store order; a contact whose earliest
    pending row is not due yet contributes none of its later ones. Pages on by position,
    so one contact's long queue behind a failing event cannot hide everyone else's."""
    blocked: set[str] = set()
    chosen: list[tuple[str, str]] = []
    after = -1
    for _ in range(pages):
        rows = conn.execute(
            select(
                event_dispatches.c.event_id,
                event_dispatches.c.contact_id,
                event_dispatches.c.next_attempt_at,
                event_dispatches.c.position,
            )
            .where(event_dispatches.c.dead_at.is_(None), event_dispatches.c.position > after)
            .order_by(event_dispatches.c.position)
            .limit(limit * 4)
        ).all()
        for row in rows:
            if row.contact_id in blocked:
                continue
            if row.next_attempt_at > now:
                blocked.add(row.contact_id)
                continue
            chosen.append((row.event_id, row.contact_id))
            if len(chosen) == limit:
                return chosen
        if len(rows) < limit * 4:
            return chosen
        after = rows[-1].position
    return chosen


def pending(conn: Connection) -> tuple[int, int, int]:
    """(rows waiting, rows that have failed at least once, dead letters)."""
    return tuple(
        conn.execute(
            select(
                func.count().filter(event_dispatches.c.dead_at.is_(None)),
                func.count().filter(
                    event_dispatches.c.attempts > 0, event_dispatches.c.dead_at.is_(None)
                ),
                func.count().filter(event_dispatches.c.dead_at.is_not(None)),
            ).select_from(event_dispatches)
        ).one()
    )


# --- dead letters ---------------------------------------------------------------


def set_aside(conn: Connection, event_id: str, reason: str, now: datetime) -> None:
    """A dispatch that retrying cannot cure: kept with its reason, no longer due and no
    longer holding back its contact's later events."""
    conn.execute(
        update(event_dispatches)
        .where(event_dispatches.c.event_id == event_id)
        .values(dead_at=now, last_error=reason[:2000], attempts=event_dispatches.c.attempts + 1)
    )


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    contact_id: str
    type: str
    position: int
    attempts: int
    reason: str
    dead_at: datetime
    created_at: datetime


def dead_letters(conn: Connection, limit: int = 100, after_position: int = 0) -> list[DeadLetter]:
    rows = conn.execute(
        select(
            event_dispatches.c.event_id,
            event_dispatches.c.contact_id,
            events.c.type,
            event_dispatches.c.position,
            event_dispatches.c.attempts,
            event_dispatches.c.last_error,
            event_dispatches.c.dead_at,
            event_dispatches.c.created_at,
        )
        .join(events, events.c.event_id == event_dispatches.c.event_id)
        .where(
            event_dispatches.c.dead_at.is_not(None), event_dispatches.c.position > after_position
        )
        .order_by(event_dispatches.c.position)
        .limit(limit)
    ).all()
    return [
        DeadLetter(
            r.event_id,
            r.contact_id,
            r.type,
            r.position,
            r.attempts,
            r.last_error or "",
            r.dead_at,
            r.created_at,
        )
        for r in rows
    ]


def retry_dead(conn: Connection, event_ids: Iterable[str], now: datetime) -> int:
    """Put dead letters back in line (after a fix), due at once."""
    return conn.execute(
        update(event_dispatches)
        .where(
            event_dispatches.c.event_id.in_(list(event_ids)),
            event_dispatches.c.dead_at.is_not(None),
        )
        .values(dead_at=None, next_attempt_at=now)
    ).rowcount


def skip_dead(conn: Connection, event_ids: Iterable[str]) -> int:
    """Give up on dead letters: the events stay stored (and projected), never routed."""
    return conn.execute(
        delete(event_dispatches).where(
            event_dispatches.c.event_id.in_(list(event_ids)),
            event_dispatches.c.dead_at.is_not(None),
        )
    ).rowcount
