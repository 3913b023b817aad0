"""Acting on dead letters (dispatches set aside because retrying could not cure them),
for the API and `dripstone dispatch`: which of the ids asked for are dead letters, and
retrying or skipping exactly those."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select

from projections import dispatches
from projections.dispatch_bell import BELL
from projections.schema import event_dispatches


@dataclass(frozen=True)
class Handled:
    done: list[str]  # in the order asked
    not_dead: list[str]  # not a dead letter: never stored, delivered, pending, or skipped


def _dead_among(conn: Connection, event_ids: list[str]) -> set[str]:
    if not event_ids:
        return set()
    return set(
        conn.execute(
            select(event_dispatches.c.event_id).where(
                event_dispatches.c.event_id.in_(event_ids), event_dispatches.c.dead_at.is_not(None)
            )
        ).scalars()
    )


def _split(event_ids: Iterable[str], dead: set[str]) -> Handled:
    ids = list(dict.fromkeys(event_ids))
    return Handled(done=[i for i in ids if i in dead], not_dead=[i for i in ids if i not in dead])


def retry(engine: Engine, event_ids: Iterable[str]) -> Handled:
    """Back in line, due at once; this process's dispatcher is told straight away (a
    dispatcher elsewhere finds them at its next poll)."""
    ids = list(dict.fromkeys(event_ids))
    with engine.begin() as conn:
        dead = _dead_among(conn, ids)
        dispatches.retry_dead(conn, dead, datetime.now(UTC))
    if dead:
        BELL.ring()
    return _split(ids, dead)


def skip(engine: Engine, event_ids: Iterable[str]) -> Handled:
    """Given up: the events stay stored and projected, never routed."""
    ids = list(dict.fromkeys(event_ids))
    with engine.begin() as conn:
        dead = _dead_among(conn, ids)
        dispatches.skip_dead(conn, dead)
    return _split(ids, dead)
