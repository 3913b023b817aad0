"""The console's experiments page reads every flow's experiments in a fixed number of
queries (not one round per flow and per experiment), with the same results the API
gives flow by flow."""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from console.experiments import experiment_results
from projections.experiment_schema import experiment_assignments, experiment_decisions
from projections.experiments import flow_experiments
from projections.flow_catalogue import publish
from projections.schema import email_engagement, journey_conversions, journey_index
from tests.journey_harness import flow_from

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def _ab(flow_id: str, metric: dict, holdout: float = 0) -> dict:
    return {
        "id": flow_id,
        "holdout_percent": holdout,
        "steps": [
            {
                "id": "subject",
                "kind": "experiment",
                "channel": "email",
                "metric": metric,
                "winner": {"after": "sample_size", "sample_size": 50},
                "variants": [
                    {"name": "plain", "weight": 1, "subject": "Hi", "body": "."},
                    {"name": "bold", "weight": 1, "subject": "HI", "body": "."},
                ],
            },
            {"id": "goal", "kind": "goal", "goal": {"kind": "has_tag", "tag": "customer"}},
        ],
    }


def _seed(engine, numbers: range) -> None:
    metrics = [
        {"kind": "opened", "window": "1d"},
        {"kind": "clicked", "window": "2d"},
        {"kind": "converted", "window": "3d", "goal": "goal"},
    ]
    with engine.begin() as conn:
        publish(
            conn,
            flow_from(
                {"id": f"plain-{numbers[0]}", "steps": [{"id": "t", "kind": "add_tag", "tag": "x"}]}
            ),
        )
        for n in numbers:
            flow_id = f"ab-{n}"
            publish(conn, flow_from(_ab(flow_id, metrics[n % 3], holdout=10 * (n % 2))))
            for i in range(6):
                contact, journey, key = f"c{n}-{i}", f"journey/{flow_id}/c{n}-{i}", f"k-{n}-{i}"
                at = NOW - timedelta(days=5, hours=i)
                conn.execute(
                    experiment_assignments.insert().values(
                        message_key=key,
                        flow_id=flow_id,
                        flow_version=1,
                        step_id="subject",
                        contact_id=contact,
                        journey_id=journey,
                        variant=("plain", "bold")[i % 2],
                        phase="winner" if i == 5 else "test",
                        assigned_at=at,
                    )
                )
                conn.execute(
                    journey_index.insert().values(
                        workflow_id=journey,
                        contact_id=contact,
                        flow_id=flow_id,
                        flow_version=1,
                        enrollment_id=f"e-{n}-{i}",
                        status="ended",
                        started_at=at,
                        updated_at=at,
                    )
                )
                if i % 3 == 0:
                    conn.execute(
                        email_engagement.insert().values(
                            contact_id=contact,
                            kind="click",
                            touch_key=key,
                            message_key=key,
                            flow_id=flow_id,
                            step_id="subject",
                            first_at=at + timedelta(hours=1),
                        )
                    )
                    conn.execute(
                        journey_conversions.insert().values(
                            journey_id=journey,
                            enrollment_id=f"e-{n}-{i}",
                            flow_id=flow_id,
                            flow_version=1,
                            contact_id=contact,
                            goal_step="goal",
                            step_id="goal",
                            converted_at=at + timedelta(hours=2),
                        )
                    )
            if n == 0:
                conn.execute(
                    experiment_decisions.insert().values(
                        flow_id=flow_id,
                        step_id="subject",
                        winner="bold",
                        rule="sample_size",
                        decided_at=NOW,
                        result={},
                    )
                )


@contextmanager
def counted(engine):
    statements: list[str] = []

    def seen(conn, cursor, statement, *rest):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_the_experiments_page_reads_in_a_fixed_number_of_queries(engine):
    _seed(engine, range(0, 2))  # one flow with a holdout, one without
    with engine.connect() as conn, counted(engine) as two_flows:
        experiment_results(conn)
    _seed(engine, range(2, 8))
    with engine.connect() as conn, counted(engine) as eight_flows:
        shown = experiment_results(conn)
    assert len(eight_flows) == len(two_flows) <= 6, eight_flows
    # The same results as the API gives flow by flow (holdouts and a decision included).
    with engine.connect() as conn:
        one_by_one = [flow_experiments(conn, f"ab-{n}", datetime.now(UTC)) for n in range(8)]
    assert [r.flow_id for r in shown] == [f"ab-{n}" for n in range(8)]
    assert [r.lift is not None for r in shown] == [False, True] * 4
    assert shown[0].experiments[0].decision is not None
    assert sum(v.successes for r in shown for e in r.experiments for v in e.variants) > 0
    assert [r.model_dump() for r in shown] == [r.model_dump() for r in one_by_one]


def _experiments(flow_id: str, count: int) -> dict:
    """A flow with `count` experiment steps, each with its own metric, and a holdout."""
    one = _ab(flow_id, {"kind": "opened", "window": "1d"})["steps"][0]
    metrics = [
        {"kind": "opened", "window": "1d"},
        {"kind": "clicked", "window": "2d"},
        {"kind": "converted", "window": "3d", "goal": "goal"},
    ]
    return {
        "id": flow_id,
        "holdout_percent": 10,
        "steps": [
            *({**one, "id": f"subject-{i}", "metric": metrics[i % 3]} for i in range(count)),
            {"id": "goal", "kind": "goal", "goal": {"kind": "has_tag", "tag": "customer"}},
        ],
    }


def test_one_flow_reads_in_a_fixed_number_of_queries_however_many_experiments(engine):
    with engine.begin() as conn:
        publish(conn, flow_from(_experiments("one-step", 1)))
        publish(conn, flow_from(_experiments("four-steps", 4)))
    counts = {}
    for flow_id in ("one-step", "four-steps"):
        with engine.connect() as conn, counted(engine) as statements:
            found = flow_experiments(conn, flow_id, NOW)
        counts[flow_id] = len(statements)
        assert found.lift is not None
        assert [e.step_id for e in found.experiments] == [
            f"subject-{i}" for i in range({"one-step": 1, "four-steps": 4}[flow_id])
        ]
    assert counts["one-step"] == counts["four-steps"] <= 6, counts
