"""Record JourneyWorkflow histories with an experiment step and a holdout, for the
replay test (tests/workflows/test_replay.py):
    DRIPSTONE_TEST_SERVER_BIN=... .venv/bin/python -m tests.histories.record_experiment v1
One contact through a two-variant email experiment (the choose_variant activity, the
"experiment-step" patch), and one held-out contact of a flow with a holdout (the
"flow-holdout" patch: no email, then the goal). Recorded with the plain pydantic
converter, like the other recorders. Refuses to overwrite a stored history."""

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter

from domain.experiments.assignment import in_holdout
from projections.database import make_engine, migrate
from projections.event_store import ingest
from settings import Settings
from tests.conftest import _start_time_skipping
from tests.histories.record import HERE
from tests.journey_harness import contact, enroll_and_finish, flow_from, journey_worker

EXPERIMENT = flow_from(
    {
        "id": "experiment",
        "steps": [
            {
                "id": "welcome",
                "kind": "experiment",
                "variants": [
                    {"name": "plain", "subject": "Welcome", "body": "."},
                    {"name": "bold", "subject": "WELCOME!", "body": "."},
                ],
                "metric": {"kind": "opened", "window": "1d"},
                "winner": {"after": "sample_size", "sample_size": 100},
            },
            {"id": "later", "kind": "wait", "delay": "1d"},
        ],
    }
)
HOLDOUT = flow_from(
    {
        "id": "holdout",
        "holdout_percent": 50,
        "steps": [
            {"id": "hello", "kind": "send_email", "subject": "Hello", "body": "."},
            {"id": "bought", "kind": "goal", "goal": {"kind": "has_tag", "tag": "customer"}},
        ],
    }
)


async def record(version: str) -> list[Path]:
    targets = {name: HERE / f"{name}_{version}.json" for name in ("experiment", "holdout")}
    if any(t.exists() for t in targets.values()):
        raise SystemExit(f"{targets} exist; record under a new name")
    held = next(f"held-{n}" for n in range(100) if in_holdout(HOLDOUT.id, f"held-{n}", 50))
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/record.db")
        migrate(engine)
        settings = Settings(_env_file=None, data_dir=Path(tmp), task_queue="record-experiment")
        env = await _start_time_skipping(pydantic_data_converter)
        try:
            ingest(engine, contact("ab-1", email="ab-1@example.com"))
            ingest(engine, contact(held, email="held@example.com"))
            async with journey_worker(env.client, engine, settings) as router:
                state = await enroll_and_finish(env, router, engine, EXPERIMENT, "ab-1")
                assert state.trail[0].outcome.startswith("variant "), state.trail
                held_state = await enroll_and_finish(env, router, engine, HOLDOUT, held)
                assert held_state.trail[0].outcome == "held out: no message (holdout)", held_state
            histories = {
                "experiment": await env.client.get_workflow_handle(
                    "journey/experiment/ab-1"
                ).fetch_history(),
                "holdout": await env.client.get_workflow_handle(
                    f"journey/holdout/{held}"
                ).fetch_history(),
            }
        finally:
            await env.shutdown()
            engine.dispose()
    for name, history in histories.items():
        targets[name].write_text(history.to_json())
    return list(targets.values())


if __name__ == "__main__":
    print(asyncio.run(record(sys.argv[1])))
