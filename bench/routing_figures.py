"""What `bench.routing` measures and its targets: the options of a run, each measurement
(one flow count, one round) and the whole result, with the medians and ratios it
reports (bench/routing_report.py prints them)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bench import api_load, wakeup

RATIO_TARGET = 0.9
SQLITE_RATE_TARGET = 3000.0
WAKE_P99_TARGET_MS = 250.0


@dataclass
class Options:
    events: int = 20_000
    flow_counts: tuple[int, ...] = (1, 10, 50)
    rounds: int = 2
    batch_size: int = 500
    lanes: int = 4
    warmup_events: int = 2000
    wake_journeys: int = 100
    wake_gap: float = 0.1
    api_workers: int = 1


@dataclass
class Measurement:
    flows: int  # bench flows live during the measurement
    live: int  # every live flow the router saw (the bench's, plus any already there)
    round: int
    run: api_load.IngestRun
    routed: int  # journeys the events reached or started: 0 expected
    cpu_api: float | None = None  # CPU seconds of the API process
    cpu_server: float | None = None  # of the dev server, when it runs on this machine

    @property
    def rate(self) -> float:
        return self.run.rate

    def cpu_ms_per_1k(self, which: str) -> float | None:
        """CPU per 1,000 events, in ms: of the API process ("api") or the dev server."""
        cpu = getattr(self, f"cpu_{which}")
        return 1000 * cpu / self.run.events * 1000 if cpu is not None and self.run.events else None


@dataclass
class RoutingBenchResult:
    dialect: str
    options: Options
    measurements: list[Measurement]
    wake: wakeup.WakeFigures
    wake_live: int  # live flows during the wake-up part (the bench's and the wait flow)
    prefix: str  # of every id the run made (flows, contacts, events)
    problems: list[str] = field(default_factory=list)

    def of(self, flows: int) -> list[Measurement]:
        return [m for m in self.measurements if m.flows == flows]

    def rate(self, flows: int) -> float:
        """The median round. With the default 2 rounds (one up, one down) that is the
        mean of two rounds placed symmetrically in time, so a steady drift (the database
        growing, a neighbour's load rising) cancels out; "best" would not cancel it."""
        rates = [m.rate for m in self.of(flows)]
        return statistics.median(rates) if rates else 0.0

    @property
    def ratio(self) -> float:
        low, high = min(self.options.flow_counts), max(self.options.flow_counts)
        return self.rate(high) / self.rate(low) if self.rate(low) else 0.0

    def cpu_ms(self, flows: int, which: str = "api") -> float | None:
        """CPU per 1,000 events over every round of `flows`, in ms: of the API process
        ("api") or the dev server ("server")."""
        rounds = self.of(flows)
        spent = [getattr(m, f"cpu_{which}") for m in rounds]
        events = sum(m.run.events for m in rounds)
        if not rounds or None in spent or not events:
            return None
        return 1000 * sum(spent) / events * 1000

    @property
    def cpu_ratio(self) -> float | None:
        """API CPU per event with the fewest flows / with the most: like `ratio`, 1.0
        means the flows cost nothing; it moves less with a neighbour's load."""
        low, high = min(self.options.flow_counts), max(self.options.flow_counts)
        a, b = self.cpu_ms(low), self.cpu_ms(high)
        return a / b if a is not None and b else None
