"""Heartbeats for a whole activity attempt, from a background thread.

A send's heartbeat timeout exists to notice a dead worker, not a slow attempt: if only
some waits heartbeat, a slow database lock or provider call outlasts the timeout, Temporal
retries while the first attempt is still sending, and the message goes out twice. So the
attempt heartbeats from a thread of its own for as long as it runs; the attempt's
start_to_close bounds how long it may take."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import structlog
from temporalio import activity

log = structlog.get_logger()

# At most this long between heartbeats (the SDK batches them towards the server anyway).
MOST_SECONDS = 5.0


@contextmanager
def heartbeating() -> Iterator[None]:
    """Heartbeat until the block ends (a no-op outside an activity or without a
    heartbeat timeout)."""
    if not activity.in_activity() or activity.info().heartbeat_timeout is None:
        yield
        return
    timeout = activity.info().heartbeat_timeout
    every = min(MOST_SECONDS, timeout.total_seconds() / 4) if timeout else MOST_SECONDS
    with repeating(every, activity.heartbeat, "activity-heartbeat"):
        yield


@contextmanager
def repeating(every: float, action: Callable[[], object], name: str) -> Iterator[None]:
    """Call `action` every `every` seconds from a thread of its own until the block ends."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                action()
            except Exception:  # a missed beat is not the attempt's failure: try again
                log.warning("repeating.failed", name=name, exc_info=True)

    # activity.heartbeat finds its activity through contextvars: the thread runs in a copy.
    thread = threading.Thread(
        target=contextvars.copy_context().run, args=(loop,), name=name, daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def shielded() -> AbstractContextManager[None]:
    """Hold a cancellation back until the block ends: once the provider has the message,
    its outcome is recorded before the attempt may stop."""
    if activity.in_activity():
        return activity.shield_thread_cancel_exception()
    return nullcontext()
