"""GET /v1/flows/{id}/experiments(/{step}) and `dripstone flow experiment`: the same
result from the read models, behind the API key; unknown flows and steps refused with
what is wrong. Assignments are made by the real choose_variant activity (called
directly: no journey is needed to show a result), opens arrive as events."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from scipy.stats import fisher_exact
from sqlalchemy import update

from activities.experiments import ExperimentActivities
from domain.events import EventType
from domain.experiments.contract import VariantRequest
from projections.event_store import ingest
from projections.experiment_schema import experiment_assignments
from projections.flow_catalogue import publish
from tests.api.v1_harness import ok, sync_client
from tests.cli.invoke import dripstone_run
from tests.journey_harness import contact, event, flow_from

FLOW = flow_from(
    {
        "id": "ab-routes",
        "holdout_percent": 20,
        "steps": [
            {
                "id": "pick",
                "kind": "experiment",
                "variants": [
                    {"name": "a", "subject": "A", "body": "."},
                    {"name": "b", "subject": "B", "body": "."},
                ],
                "metric": {"kind": "clicked", "window": "1h"},
                "winner": {"after": "test_period", "test_period": "1d"},
            },
            {"id": "done", "kind": "goal", "goal": {"kind": "has_tag", "tag": "customer"}},
        ],
    }
)
CONTACTS = [f"r-{n}" for n in range(8)]


@pytest.fixture
def assigned(engine):
    with engine.begin() as conn:
        publish(conn, FLOW)
    chooser = ExperimentActivities(engine)
    step = FLOW.steps[0]
    chosen = {}
    for c in CONTACTS:
        ingest(engine, contact(c, email=f"{c}@example.com"))
        key = f"journey/{FLOW.id}/{c}/pick/1"
        chosen[c] = chooser.choose_variant(
            VariantRequest(
                flow_id=FLOW.id,
                flow_version=1,
                step_id="pick",
                contact_id=c,
                journey_id=f"journey/{FLOW.id}/{c}",
                message_key=key,
                step=step.model_dump(mode="json"),
            )
        ).variant
    # Assigned two hours ago: every window has closed, the test period has not; the b
    # contacts clicked half an hour after.
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(update(experiment_assignments).values(assigned_at=now - timedelta(hours=2)))
    for c in CONTACTS:
        if chosen[c] == "b":
            ingest(
                engine,
                [
                    event(
                        c,
                        EventType.EMAIL_CLICKED,
                        {"message_key": f"journey/{FLOW.id}/{c}/pick/1", "url": "https://x.test/"},
                        occurred_at=now - timedelta(minutes=90),
                    )
                ],
            )
    return chosen


def test_the_api_serves_the_result_behind_the_key(engine, settings, assigned):
    n_b = sum(v == "b" for v in assigned.values())
    n_a = len(CONTACTS) - n_b
    assert n_a and n_b, assigned
    with sync_client(settings, engine) as client:
        body = ok(client.get(f"/v1/flows/{FLOW.id}/experiments"))
        one = ok(client.get(f"/v1/flows/{FLOW.id}/experiments/pick"))
        assert (
            client.get(
                f"/v1/flows/{FLOW.id}/experiments", headers={"Authorization": ""}
            ).status_code
            == 401
        )
        assert client.get("/v1/flows/nope/experiments").status_code == 404
        missing = client.get(f"/v1/flows/{FLOW.id}/experiments/done")
    assert missing.status_code == 404 and "a goal step" in missing.json()["detail"]
    [result] = body["experiments"]
    assert result == one
    a, b = result["variants"]
    assert (a["measured"], a["successes"], b["measured"], b["successes"]) == (n_a, 0, n_b, n_b)
    assert b["p_value"] == fisher_exact([[n_b, 0], [0, n_a]]).pvalue
    assert (result["leader"], result["decision"], result["decision_due"]) == ("b", None, False)
    # No journey has run: nobody enrolled, so the holdout has nothing to compare yet.
    assert body["lift"]["treated"] == body["lift"]["holdout"] == 0


def test_the_cli_prints_the_same_result(engine, tmp_path, monkeypatch, assigned):
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DRIPSTONE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    printed = json.loads(dripstone_run("flow", "experiment", FLOW.id, "pick", "--json").stdout)
    assert printed["experiment"]["leader"] == "b" and printed["lift"]["holdout_percent"] == 20
    table = dripstone_run("flow", "experiment", FLOW.id, "pick").stdout
    assert "100.0%" in table and "no winner yet (testing); leading: b" in table
    assert "clicked within 1h (" in table  # the window as flows write it, not 3600s
    refused = dripstone_run("flow", "experiment", FLOW.id, "done", code=2)
    assert "not an experiment" in refused.stdout + refused.stderr
