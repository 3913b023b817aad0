"""The published flows, by the event type that triggers them.

Reloaded at the start of every batch (one light query for ids and versions); a version's
document is parsed once per process, since published versions never change, and kept
while it is among the `cache_size` versions used last (DRIPSTONE_LIVE_FLOWS_CACHE_SIZE):
every publish makes a new version, and a long-running process would otherwise keep
each one it ever parsed. Below the number of live flows, the least used are parsed
again at each load: slower, never wrong.

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
from collections import OrderedDict, defaultdict
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


DEFAULT_CACHE_SIZE = 1000


class ParsedVersions:
    """Parsed flow versions by (flow id, version), least recently used first, at most
    `size`. Loads on several threads share it, hence the lock."""

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"cache size {size}: at least 1")
        self.size = size
        self._flows: OrderedDict[tuple[str, int], Flow] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> Flow | None:
        with self._lock:
            flow = self._flows.get(key)
            if flow is not None:
                self._flows.move_to_end(key)
            return flow

    def put(self, key: tuple[str, int], flow: Flow) -> None:
        with self._lock:
            self._flows[key] = flow
            self._flows.move_to_end(key)
            while len(self._flows) > self.size:
                self._flows.popitem(last=False)

    def keys(self) -> list[tuple[str, int]]:
        """Least recently used first."""
        with self._lock:
            return list(self._flows)


class LiveFlows:
    def __init__(self, engine: Engine, cache_size: int = DEFAULT_CACHE_SIZE):
        self.engine = engine
        self.parsed = ParsedVersions(cache_size)
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
                .where(flows.c.status == FlowStatus.PUBLISHED)
                .order_by(flows.c.flow_id)
            ).all()
            # What this load uses is held here, not looked up in the cache again: another
            # load may evict a version between this one's parse and its use.
            found: dict[tuple[str, int], Flow] = {}
            for flow_id, version in current:
                if (flow := self.parsed.get((flow_id, version))) is not None:
                    found[(flow_id, version)] = flow
            missing = {(f, v) for f, v in current if (f, v) not in found}
            if missing:
                rows = conn.execute(
                    select(
                        flow_versions.c.flow_id, flow_versions.c.version, flow_versions.c.document
                    ).where(flow_versions.c.flow_id.in_([f for f, _ in missing]))
                ).all()
                for row in rows:
                    key = (row.flow_id, row.version)
                    if key in missing:
                        # Two loads may parse the same version; either copy is the same flow.
                        found[key] = Flow.model_validate(row.document)
                        self.parsed.put(key, found[key])
        live = tuple(found[(f, v)] for f, v in current if (f, v) in found)
        by_type: dict[str, list[Flow]] = defaultdict(list)
        for flow in live:
            by_type[flow.trigger.event].append(flow)
        return _Loaded(ticket, live, MappingProxyType({t: tuple(fs) for t, fs in by_type.items()}))

    def trigger_types(self) -> set[str]:
        return set(self._loaded.by_type)

    def triggered_by(self, event_type: str) -> list[Flow]:
        """From the newest load: the caller loads once per batch."""
        return list(self._loaded.by_type.get(event_type, ()))
