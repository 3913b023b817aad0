"""The deadline rule and step mapping of a migration (domain.journey_migration), and the
dry run's plan: pure, so every case is cheap to pin down."""

from datetime import UTC, datetime, timedelta

from domain.flow import Flow
from domain.journey import JourneyState, JourneyStatus, WaitMark
from domain.journey_migration import (
    MigrationOrder,
    carried_wait,
    mapping_problems,
    migrated_state,
    resolve_steps,
)
from domain.migration_plan import Placement, plan_migration

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def flow(version: int, *steps: dict) -> Flow:
    return Flow.model_validate(
        {
            "id": "f",
            "version": version,
            "trigger": {"event": "form.submitted"},
            "steps": list(steps),
        }
    )


def wait(step_id: str, **spec) -> dict:
    return {"id": step_id, "kind": "wait", **spec}


MAIL = {"id": "mail", "kind": "send_email", "subject": "s", "body": "."}


def test_same_wait_keeps_the_deadline_a_different_one_counts_from_its_start():
    mark = WaitMark(
        step_id="w", visit=1, phase="step", until=START + timedelta(days=3), started_at=START
    )
    v1, same, longer = (
        flow(1, wait("w", delay="3d")),
        flow(2, wait("w", delay="3d")),
        flow(2, wait("w", delay="5d")),
    )
    assert carried_wait(v1.step("w"), v1, same.step("w"), same, mark) == mark
    assert carried_wait(
        v1.step("w"), v1, longer.step("w"), longer, mark
    ).until == START + timedelta(days=5)


def test_local_time_waits_are_planned_afresh_and_a_step_without_a_wait_starts_afresh():
    mark = WaitMark(step_id="w", visit=1, phase="step", until=START, started_at=START)
    v1 = flow(1, wait("w", delay="3d"))
    local = flow(2, wait("w", time_of_day={"at": "09:00"}))
    mail = flow(2, {**MAIL, "id": "w"})
    assert carried_wait(v1.step("w"), v1, local.step("w"), local, mark) is None
    assert carried_wait(v1.step("w"), v1, mail.step("w"), mail, mark) is None


def test_steps_match_by_id_then_by_map_and_bad_maps_name_the_step():
    v1 = flow(1, MAIL, wait("pause", delay="1d"))
    v2 = flow(2, MAIL, wait("rest", delay="1d"))
    assert resolve_steps(v1, v2, {}) == {"mail": "mail"}
    assert resolve_steps(v1, v2, {"pause": "rest"}) == {"mail": "mail", "pause": "rest"}
    assert mapping_problems([v1], v2, {"gone": "rest", "pause": "nowhere"}) == [
        "map gone=rest: no step 'gone' in version(s) 1",
        "map pause=nowhere: version 2 has no step 'nowhere'",
    ]


def test_a_journey_moves_inside_its_wait_keeping_visits_or_declines_without_a_place():
    v1 = flow(1, MAIL, wait("pause", delay="1d"))
    v2 = flow(2, MAIL, wait("rest", delay="1d"))
    state = JourneyState(
        status=JourneyStatus.WAITING,
        current_step="pause",
        current_visit=1,
        visits={"mail": 1, "pause": 1},
        wait=WaitMark(
            step_id="pause",
            visit=1,
            phase="step",
            until=START + timedelta(days=1),
            started_at=START,
        ),
    )
    order = MigrationOrder(
        migration_id="m1", flow=v2, from_version=1, steps=resolve_steps(v1, v2, {"pause": "rest"})
    )
    moved = migrated_state(state, v1, order, START)
    assert (moved.current_step, moved.current_visit, moved.visits) == (
        "rest",
        1,
        {"mail": 1, "pause": 1, "rest": 1},
    )
    assert moved.wait.step_id == "rest" and moved.wait.until == state.wait.until
    unmapped = order.model_copy(update={"steps": resolve_steps(v1, v2, {})})
    assert migrated_state(state, v1, unmapped, START) is None


def test_the_plan_refuses_only_waiting_steps_without_a_place():
    v1 = flow(1, MAIL, wait("pause", delay="1d"))
    v2 = flow(2, MAIL, wait("rest", delay="1d"))
    plan = plan_migration(
        "f",
        {1: v1},
        v2,
        {},
        [
            Placement(1, "pause", "waiting", "step", "a delay of 1 day"),
            Placement(1, "pause", "waiting", "step", "a delay of 1 day"),
            Placement(1, "mail", "running"),
            Placement(1, None, "unknown"),
        ],
    )
    assert plan.refused and plan.unmapped == ["version 1 step 'pause' (2 journey(s) waiting)"]
    assert plan.moving == 1
