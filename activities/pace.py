"""Provider rate limits shared by every worker (messages per second, from settings).

A send reserves its slot in `provider_pace` in one short transaction: it starts at the
provider's next free moment (or now), and moves that moment on by permits / rate, then
sleeps until its slot. Reservations are serialised by the row (SQLite's writer lock,
PostgreSQL's row lock), so two workers never take the same slot, and no process keeps
state of its own. A provider's "slow down" (429 with Retry-After) pushes the moment out
for everyone: the whole mailing slows, not one batch."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, literal, select

from projections.dialect import greatest, insert
from projections.mailing_schema import provider_pace
from projections.types import UtcDateTime

P = provider_pace.c
# Sleep in slices no longer than this, heartbeating between them.
SLICE_SECONDS = 5.0


class Pace:
    def __init__(self, engine: Engine, rates: dict[str, float]):
        self.engine = engine
        self.rates = {name: rate for name, rate in rates.items() if rate > 0}

    def acquire(
        self,
        provider: str,
        permits: int = 1,
        heartbeat: Callable[..., None] = lambda *details: None,
    ) -> float:
        """Wait for the slot of `permits` messages; returns the seconds waited."""
        rate = self.rates.get(provider)
        if rate is None or permits < 1:
            return 0.0
        start = self._reserve(provider, timedelta(seconds=permits / rate))
        waited = 0.0
        while (left := (start - datetime.now(UTC)).total_seconds()) > 0:
            time.sleep(min(left, SLICE_SECONDS))
            waited += min(left, SLICE_SECONDS)
            heartbeat()
        return waited

    def back_off(self, provider: str, seconds: float) -> None:
        """The provider asked for a pause: nobody sends to it before it is over. One
        statement, so a shorter pause never undoes a longer one or a reservation."""
        until = datetime.now(UTC) + timedelta(seconds=seconds)
        with self.engine.begin() as conn:
            conn.execute(
                insert(conn, provider_pace)
                .values(provider=provider, next_free_at=until)
                .on_conflict_do_nothing(index_elements=["provider"])
            )
            conn.execute(
                provider_pace.update()
                .where(P.provider == provider)
                .values(next_free_at=greatest(conn, P.next_free_at, literal(until, UtcDateTime)))
            )

    def _reserve(self, provider: str, length: timedelta) -> datetime:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            # Make the row exist, then lock it with a no-op update before reading it, so
            # concurrent reservations on PostgreSQL queue here instead of reading alike.
            conn.execute(
                insert(conn, provider_pace)
                .values(provider=provider, next_free_at=now)
                .on_conflict_do_nothing(index_elements=["provider"])
            )
            conn.execute(
                provider_pace.update()
                .where(P.provider == provider)
                .values(next_free_at=P.next_free_at)
            )
            start = max(self._current(conn, provider), now)
            conn.execute(
                provider_pace.update()
                .where(P.provider == provider)
                .values(next_free_at=start + length)
            )
        return start

    @staticmethod
    def _current(conn, provider: str) -> datetime | None:
        return conn.execute(select(P.next_free_at).where(P.provider == provider)).scalar()
