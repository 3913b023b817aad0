"""A catalogue load held between its read and the moment it takes effect, so a test can
let other loads and a publish happen in that gap: the race between the dispatcher's
load and an ingest's load, made deterministic.

The hold is on the real engine: the held thread stops when its connection goes back to
the pool, i.e. after the read is complete and with no lock held (SQLite's writer is
not blocked), and before LiveFlows records what it read."""

import re
import threading
from contextlib import contextmanager

from sqlalchemy import Engine, event

from projections.live_flows import LiveFlows

# Only so a broken test fails instead of hanging the suite; never reached when it passes.
HANG_GUARD_SECONDS = 60
EVENT_INSERT = re.compile(r"\s*INSERT INTO events\b", re.IGNORECASE)


class HeldLoad:
    def __init__(self, engine: Engine, live_flows: LiveFlows):
        self.engine = engine
        self.held = threading.Event()
        self.go = threading.Event()
        self.returned: list | None = None
        self.error: BaseException | None = None
        self._release_on_event_insert = False
        self.thread = threading.Thread(target=self._load, args=(live_flows,), daemon=True)

    def _load(self, live_flows: LiveFlows) -> None:
        try:
            self.returned = live_flows.load()
        except BaseException as exc:  # noqa: BLE001 - reported by finish()
            self.error = exc

    def _on_checkin(self, _dbapi_connection, _record) -> None:
        if threading.current_thread() is self.thread and not self.held.is_set():
            self.held.set()
            self.go.wait(HANG_GUARD_SECONDS)

    def _on_execute(self, _conn, _cursor, statement, *_args) -> None:
        if (
            self._release_on_event_insert
            and threading.current_thread() is not self.thread
            and EVENT_INSERT.match(statement)
        ):
            self._release_on_event_insert = False
            self.finish()

    def release_when_an_event_is_stored(self) -> None:
        """Let the held load take effect in the middle of the next ingest: after that
        ingest loaded the catalogue itself, before its event is routed."""
        self._release_on_event_insert = True

    def finish(self) -> list:
        """Let the held load take effect and wait until it has."""
        self.go.set()
        self.thread.join(HANG_GUARD_SECONDS)
        assert not self.thread.is_alive(), "the held load never finished"
        if self.error is not None:
            raise self.error
        return self.returned


@contextmanager
def held_load(engine: Engine, live_flows: LiveFlows):
    """A load of `live_flows` that has read the catalogue as it is now; it takes effect
    when the test calls finish() (or at the end of the block)."""
    load = HeldLoad(engine, live_flows)
    event.listen(engine, "checkin", load._on_checkin)
    event.listen(engine, "before_cursor_execute", load._on_execute)
    try:
        load.thread.start()
        assert load.held.wait(HANG_GUARD_SECONDS), "the load never read the catalogue"
        yield load
    finally:
        load.go.set()
        load.thread.join(HANG_GUARD_SECONDS)
        event.remove(engine, "before_cursor_execute", load._on_execute)
        event.remove(engine, "checkin", load._on_checkin)
