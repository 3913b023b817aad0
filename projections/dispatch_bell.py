"""The dispatcher's bell: code that appended events for dispatch (activities, in worker
threads) rings it after its transaction commits, and every dispatcher in this process
looks at once instead of at its next poll. Ringing is only a hint: a dispatcher in
another process still finds the rows at its next poll."""

import asyncio
import threading


class DispatchBell:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def listen(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        """From a coroutine: an event set whenever the bell rings."""
        listener = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._listeners.add(listener)
        return listener

    def forget(self, listener) -> None:
        with self._lock:
            self._listeners.discard(listener)

    def ring(self) -> None:
        """Safe from any thread."""
        with self._lock:
            listeners = list(self._listeners)
        for loop, event in listeners:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                pass  # that loop closed meanwhile: its dispatcher has stopped


# One per process: every appender and dispatcher of this process share it.
BELL = DispatchBell()
