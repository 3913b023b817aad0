"""A circuit breaker for the fast path: once routing has found Temporal unreachable, the
API stops trying for a short while, so events are accepted in milliseconds and left to
the dispatcher (which keeps probing, and closes the breaker when Temporal answers)."""

import time
from dataclasses import dataclass

from temporalio.service import RPCError, RPCStatusCode

# Statuses that say "Temporal is not there right now", not "this event is wrong".
UNREACHABLE = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.UNKNOWN,
    }
)


def unreachable(exc: BaseException) -> bool:
    if isinstance(exc, RPCError):
        return exc.status in UNREACHABLE
    return isinstance(exc, (ConnectionError, TimeoutError, OSError, RuntimeError))


def never_sent(exc: BaseException) -> bool:
    """Temporal certainly did not get the request (refused or failed connection), as
    opposed to a timeout, after which it may have acted on it."""
    if isinstance(exc, RPCError):
        return exc.status == RPCStatusCode.UNAVAILABLE
    return isinstance(exc, (ConnectionError, RuntimeError)) and not isinstance(exc, TimeoutError)


@dataclass
class Breaker:
    open_seconds: float = 15.0
    _open_until: float = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self) -> None:
        self._open_until = time.monotonic() + self.open_seconds

    def close(self) -> None:
        self._open_until = 0.0
