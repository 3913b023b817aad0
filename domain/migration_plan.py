"""A migration of running journeys as an operation: the dry run's plan (where journeys
are now, where each would go, which steps have no place), and what crosses the Temporal
boundary for MigrationWorkflow (its input, also what continue-as-new carries; its
progress; the page activity's request and result)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from domain.flow import Flow
from domain.journey_migration import deadline_rule, resolve_steps

# Journeys in these states sit at their step until something wakes them: they must have
# a place in the target. A running journey takes the migration after its current step,
# at the step it goes to next (and stays where it is if that one has no place).
SETTLED = ("waiting", "paused")


def migration_workflow_id(flow_id: str, migration_id: str) -> str:
    return f"migration/{flow_id}/{migration_id}"


@dataclass(frozen=True)
class Placement:
    """One live journey as the dry run sees it."""

    version: int
    step_id: str | None
    status: str  # waiting, paused, running, or unknown (did not answer)
    phase: str | None = None  # the wait it is in: when, window, step
    reason: str | None = None  # what it waits for, in words


class PlanRow(BaseModel):
    from_version: int
    step_id: str | None = Field(description="Where the journeys are now (null: unknown).")
    status: str = Field(description="waiting, paused, running or unknown.")
    waiting_for: str | None = Field(default=None, description="What the wait is for.")
    journeys: int
    to_step: str | None = Field(description="The target step; null: no place in the target.")
    deadline: str | None = Field(
        default=None,
        description="What becomes of the wait's " "deadline (docs/journey-migration.md).",
    )


class MigrationPlan(BaseModel):
    flow_id: str
    to_version: int
    from_versions: list[int]
    rows: list[PlanRow]
    unmapped: list[str] = Field(
        description="Steps where journeys wait now that have no "
        "place in the target: map them with OLD=NEW."
    )

    @computed_field(description="True while a waiting step has no place: nothing moves.")  # type: ignore[prop-decorator]
    @property
    def refused(self) -> bool:
        return bool(self.unmapped)

    @computed_field(description="Journeys that would move (every row with a target step).")  # type: ignore[prop-decorator]
    @property
    def moving(self) -> int:
        return sum(r.journeys for r in self.rows if r.to_step is not None)


def plan_migration(
    flow_id: str,
    sources: dict[int, Flow],
    target: Flow,
    mapping: dict[str, str],
    placements: list[Placement],
) -> MigrationPlan:
    counts: dict[tuple[int, str | None, str, str | None, str | None], int] = {}
    for p in placements:
        key = (p.version, p.step_id, p.status, p.phase, p.reason)
        counts[key] = counts.get(key, 0) + 1
    rows, unmapped = [], []
    for (version, step_id, status, phase, reason), n in sorted(
        counts.items(), key=lambda item: tuple(str(v) for v in item[0])
    ):
        source = sources[version]
        to_step = resolve_steps(source, target, mapping).get(step_id) if step_id else None
        rule = None
        if to_step is not None:
            source_step = next((s for s in source.steps if s.id == step_id), None)
            rule = (
                deadline_rule(source_step, source, target.step(to_step), target, phase)
                if phase
                else "starts the step"
            )
        elif status in SETTLED:
            unmapped.append(f"version {version} step {step_id!r} ({n} journey(s) {status})")
        rows.append(
            PlanRow(
                from_version=version,
                step_id=step_id,
                status=status,
                waiting_for=reason,
                journeys=n,
                to_step=to_step,
                deadline=rule,
            )
        )
    return MigrationPlan(
        flow_id=flow_id,
        to_version=target.version,
        from_versions=sorted(sources),
        rows=rows,
        unmapped=unmapped,
    )


class MigrationInput(BaseModel):
    migration_id: str
    flow_id: str
    to_version: int
    from_versions: list[int] = Field(description="The versions whose journeys move.")
    mapping: dict[str, str] = Field(default_factory=dict, description="OLD=NEW step ids.")
    page_size: int = Field(default=200, ge=1, le=1000)
    cursor: str = Field(default="", description="The last workflow id handled.")
    signalled: int = 0
    not_running: int = 0
    pages: int = 0


class MigrationProgress(BaseModel):
    migration_id: str
    workflow_id: str
    flow_id: str
    to_version: int
    from_versions: list[int]
    status: Literal["running", "completed"]
    signalled: int = Field(
        description="Journeys that got the migration order so far; each "
        "takes it at its next safe point."
    )
    not_running: int = Field(
        description="Journeys the index listed that Temporal no longer "
        "runs (marked ended in the index)."
    )
    pages: int
    still_on_old_versions: int | None = Field(
        default=None,
        description="Live journeys of the source versions now, from the "
        "journey index: those still to take the order, or whose step has no place.",
    )


class MigrationPageRequest(BaseModel):
    migration_id: str
    flow_id: str
    to_version: int
    from_versions: list[int]
    mapping: dict[str, str]
    after: str
    limit: int


class MigrationPageResult(BaseModel):
    signalled: int
    not_running: int
    next_after: str | None = Field(description="None: that was the last page.")
