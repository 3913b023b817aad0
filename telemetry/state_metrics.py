"""Gauges read from the shared database when /metrics is scraped: the dispatch backlog
and its oldest age, dead letters waiting, journeys by status, mailings by status. Any
replica answers with the same numbers, and nothing has to keep them up to date."""

from datetime import UTC, datetime

import structlog
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine, func, select

from projections.mailing_schema import mailings
from projections.schema import event_dispatches, journey_index

log = structlog.get_logger("dripstone.metrics")


class DatabaseState:
    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self):
        try:
            with self.engine.connect() as conn:
                pending, oldest, dead = conn.execute(
                    select(
                        func.count().filter(event_dispatches.c.dead_at.is_(None)),
                        func.min(event_dispatches.c.created_at).filter(
                            event_dispatches.c.dead_at.is_(None)
                        ),
                        func.count().filter(event_dispatches.c.dead_at.is_not(None)),
                    )
                ).one()
                journeys = conn.execute(
                    select(journey_index.c.status, func.count()).group_by(journey_index.c.status)
                ).all()
                campaigns = conn.execute(
                    select(mailings.c.status, func.count()).group_by(mailings.c.status)
                ).all()
        except Exception as exc:  # noqa: BLE001 - a scrape must answer even so
            log.warning("metrics.database_unreadable", error=f"{type(exc).__name__}: {exc}")
            return
        yield GaugeMetricFamily(
            "dripstone_dispatch_backlog", "Stored events not yet routed to Temporal.", value=pending
        )
        age = (datetime.now(UTC) - _aware(oldest)).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "dripstone_dispatch_oldest_age_seconds",
            "Age of the oldest event waiting to be routed (0: none).",
            value=max(age, 0.0),
        )
        yield GaugeMetricFamily(
            "dripstone_dead_letters_waiting",
            "Events set aside until `dripstone dispatch retry` or " "`skip`.",
            value=dead,
        )
        yield _by_status(
            "dripstone_journeys",
            "Journeys in the journey index, by status " "(running, paused, ended).",
            journeys,
        )
        yield _by_status("dripstone_mailings", "Mailings by status.", campaigns)


def _by_status(name: str, documentation: str, rows) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["status"])
    for status, count in rows:
        family.add_metric([str(status)], count)
    return family


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Together:
    """The process's own metrics and the database's state, as one exposition."""

    def __init__(self, *collectors):
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


def exposition(engine: Engine | None) -> bytes:
    """Everything /metrics serves, in Prometheus' text format."""
    collectors = [REGISTRY] + ([DatabaseState(engine)] if engine is not None else [])
    return generate_latest(_Together(*collectors))
