"""History events per journey step, next to the bare workflow's per step: part of
`bench.enrollment`. Each history event is a write the server persists and a worker
replays, so the count says what a step costs independently of the machine's load
(which the wall-clock rates do not). Read from the histories of a sample of runs of
the last timed round of each variant, after they completed."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.api_server import ROOT

# Grouped so a reader sees where events go (activity, local activity, search attributes,
# signals, workflow tasks) without Temporal's 40-odd event types.
_GROUPS = {
    "ACTIVITY_TASK": "activity (scheduled, started, completed)",
    "MARKER_RECORDED": "marker (local activity, patch)",
    "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES": "search-attribute upsert",
    "WORKFLOW_EXECUTION_SIGNALED": "signal (trigger, routed-back events)",
    "WORKFLOW_TASK": "workflow task (scheduled, started, completed)",
}


def group_of(event_type: int) -> str:
    name = EventType.Name(event_type).removeprefix("EVENT_TYPE_")
    return next(
        (label for prefix, label in _GROUPS.items() if name.startswith(prefix)), "start, end, other"
    )


@dataclass
class HistoryCost:
    variant: str
    runs: int = 0
    steps: int = 0  # steps each run goes through
    events: int = 0  # over all sampled runs
    groups: Counter[str] = field(default_factory=Counter)

    @property
    def per_run(self) -> float:
        return self.events / self.runs if self.runs else 0.0

    @property
    def per_step(self) -> float:
        return self.per_run / self.steps if self.steps else 0.0

    def group_per_run(self, group: str) -> float:
        return self.groups[group] / self.runs if self.runs else 0.0


async def sample(client: Client, variant: str, workflow_ids: list[str], steps: int) -> HistoryCost:
    """Every event of each run's history (its latest run: a 3-step journey never
    continues as new)."""
    histories = await asyncio.gather(
        *(client.get_workflow_handle(w).fetch_history() for w in workflow_ids)
    )
    cost = HistoryCost(variant, runs=len(histories), steps=steps)
    for history in histories:
        cost.events += len(history.events)
        cost.groups.update(group_of(e.event_type) for e in history.events)
    return cost


# -- figures kept from one run to show as "before" in another ----------------------------


def code_version() -> str:
    """The commit measured (with "+changes" when the work tree differs from it)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git(
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            "workflows",
            "activities",
            "routing",
            "domain",
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}+changes" if dirty else commit or "unknown"


def save(result, path: Path) -> None:
    """The enrollment figures of `result` (an EnrollmentBenchResult) as JSON."""
    e = result.enrollment
    path.write_text(
        json.dumps(
            {
                "code": code_version(),
                "dialect": result.dialect,
                "runs": {v: e.count(v) for v in ("journey", "bare")},
                "rate": {v: round(e.rate(v), 2) for v in ("journey", "bare")},
                "ratio": round(e.ratio, 3),
                "cpu_ratio": e.cpu_ratio and round(e.cpu_ratio, 3),
                "history": {
                    v: {
                        "runs": c.runs,
                        "steps": c.steps,
                        "events": c.events,
                        "groups": dict(c.groups),
                    }
                    for v, c in e.history.items()
                },
            },
            indent=2,
        )
        + "\n"
    )


def load(path: Path) -> dict:
    """Saved figures; their history part as HistoryCost again."""
    saved = json.loads(path.read_text())
    saved["history"] = {
        v: HistoryCost(v, h["runs"], h["steps"], h["events"], Counter(h["groups"]))
        for v, h in saved.get("history", {}).items()
    }
    return saved
