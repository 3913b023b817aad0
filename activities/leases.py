"""The ledger leases of a process's sends in flight, renewed together by one thread.

A send renews its claim while its attempt lives, so a retry waits for a slow attempt but
not for a dead one (activities/ledger.py, CLAIM_LEASE). A thread of its own per send
cost every send a thread start and join, several percent of a journey worker's CPU;
here one thread renews every claim in flight, in one statement per tick, and stops when
none is left. A claim is first renewed at the next tick, at most CLAIM_RENEW_SECONDS
after it was taken, as before."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import structlog

log = structlog.get_logger()


class Leases:
    def __init__(self, renew: Callable[[list[str]], object], every: Callable[[], float]):
        """`renew(keys)` extends the leases of `keys`; `every()`: seconds between ticks
        (read at each tick)."""
        self._renew = renew
        self._every = every
        self._held: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def holding(self, key: str) -> Iterator[None]:
        """Renew `key`'s lease until the block ends."""
        with self._lock:
            if self._thread is None:
                # Started before anything is recorded: a thread that cannot start leaves
                # no stale state, and the next send tries again.
                thread = threading.Thread(target=self._run, name="ledger-leases", daemon=True)
                thread.start()
                self._thread = thread
            self._held[key] += 1  # counted: a retry in this process may hold it too
        try:
            yield
        finally:
            with self._lock:
                self._held[key] -= 1
                if not self._held[key]:
                    del self._held[key]

    def running(self) -> bool:
        with self._lock:
            return self._thread is not None

    def held(self) -> list[str]:
        with self._lock:
            return list(self._held)

    def _run(self) -> None:
        try:
            while self._tick():
                pass
        except Exception:
            log.warning("leases.stopped", exc_info=True)
        finally:
            # Ended by an error (every() raising): the next send starts another.
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None

    def _tick(self) -> bool:
        """Renew what is held after one interval; False once nothing is, and the thread
        ends (a send that starts after that starts a new one)."""
        time.sleep(self._every())
        with self._lock:
            keys = list(self._held)
            if not keys:
                self._thread = None  # under the same lock as the look: no send slips by
                return False
        try:
            self._renew(keys)
        except Exception:  # a missed renewal is not a send's failure: the next tick tries
            log.warning("leases.renew_failed", keys=len(keys), exc_info=True)
        return True
