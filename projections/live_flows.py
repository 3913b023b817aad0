"""The published flows, by the event type that triggers them.

Reloaded at the start of every batch (one light query for ids and versions); a version's
document is parsed once per process, since published versions never change.

Several threads load at once (the dispatcher's pass, every ingest, each API request)
and their reads may finish in any order. Each load draws a ticket before it reads, and
what it read replaces the flows in place only if no load with a later ticket has
already replaced them. A later ticket means a read that began later, so it saw
everything committed before the earlier read began, and more. Hence: once load()
returns, the flows in place are at least as new as the catalogue was when it was
called (an event ingested after `flow publish` returned finds the new flow), and they
never go back to an older catalogue. The reads themselves stay concurrent; only the
ticket and the swap are under the lock."""

import itertools
import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sqlalchemy import Engine, select

from domain.flow import Flow, FlowStatus
from projections.schema import flow_versions, flows


@dataclass(frozen=True)
class _Loaded:
    """One read of the catalogue, swapped in whole, so a reader never mixes two reads."""
    ticket: int
    live: tuple[Flow, ...] = ()
    by_type: Mapping[str, tuple[Flow, ...]] = field(default_factory=lambda: MappingProxyType({}))


class LiveFlows:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._parsed: dict[tuple[str, int], Flow] = {}
        self._lock = threading.Lock()
        self._tickets = itertools.count(1)
        self._loaded = _Loaded(ticket=0)

    def load(self) -> list[Flow]:
        """The live flows, at least as new as the catalogue when this call began (newer if
        a load that began later has finished already)."""
        with self._lock:
            ticket = next(self._tickets)
        loaded = self._read(ticket)
        with self._lock:
            if loaded.ticket > self._loaded.ticket:
                self._loaded = loaded
            return list(self._loaded.live)

    def _read(self, ticket: int) -> _Loaded:
        with self.engine.connect() as conn:
            current = conn.execute(
                select(flows.c.flow_id, flows.c.current_version)
                .where(flows.c.status == FlowStatus.PUBLISHED).order_by(flows.c.flow_id)).all()
            missing = [(f, v) for f, v in current if (f, v) not in self._parsed]
            if missing:
                rows = conn.execute(select(flow_versions.c.flow_id, flow_versions.c.version,
                                           flow_versions.c.document).where(
                    flow_versions.c.flow_id.in_([f for f, _ in missing]))).all()
                wanted = set(missing)
                for row in rows:
                    if (row.flow_id, row.version) in wanted:
                        # Two loads may parse the same version; either copy is the same flow.
                        self._parsed[(row.flow_id, row.version)] = Flow.model_validate(row.document)
        live = tuple(self._parsed[key] for key in map(tuple, current) if key in self._parsed)
        by_type: dict[str, list[Flow]] = defaultdict(list)
        for flow in live:
            by_type[flow.trigger.event].append(flow)
        return _Loaded(ticket, live,
                       MappingProxyType({t: tuple(fs) for t, fs in by_type.items()}))

    def trigger_types(self) -> set[str]:
        return set(self._loaded.by_type)

    def triggered_by(self, event_type: str) -> list[Flow]:
        """From the newest load: the caller loads once per batch."""
        return list(self._loaded.by_type.get(event_type, ()))
