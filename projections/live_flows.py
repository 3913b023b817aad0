"""The published flows, by the event type that triggers them.

Reloaded at the start of every batch (one light query for ids and versions); a version's
document is parsed once per process, since published versions never change."""

from collections import defaultdict

from sqlalchemy import Engine, select

from domain.flow import Flow, FlowStatus
from projections.schema import flow_versions, flows


class LiveFlows:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._parsed: dict[tuple[str, int], Flow] = {}
        self._by_type: dict[str, list[Flow]] = {}
        self._live: list[Flow] = []

    def load(self) -> list[Flow]:
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
                        self._parsed[(row.flow_id, row.version)] = Flow.model_validate(row.document)
        live = [self._parsed[key] for key in map(tuple, current) if key in self._parsed]
        by_type: dict[str, list[Flow]] = defaultdict(list)
        for flow in live:
            by_type[flow.trigger.event].append(flow)
        self._live, self._by_type = live, dict(by_type)
        return live

    def trigger_types(self) -> set[str]:
        return set(self._by_type)

    def triggered_by(self, event_type: str) -> list[Flow]:
        """From the last load: the caller loads once per batch."""
        return self._by_type.get(event_type, [])
