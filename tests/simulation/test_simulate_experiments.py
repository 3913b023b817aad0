"""Simulating a flow with an experiment step, a holdout and subscription topics: each
timeline entry says which variant a contact got (the real winner once the experiment is
decided), or that the contact was held out, or skipped for leaving the step's topic;
a sample counts variants and skips per step."""

from collections import Counter
from datetime import UTC, datetime

import pytest

from domain.events import EventType
from domain.experiments.assignment import assign_variant, in_holdout
from projections.event_store import ingest
from projections.experiment_schema import experiment_decisions
from projections.flow_catalogue import publish
from tests.api.v1_harness import async_client, ok
from tests.journey_harness import contact, event, flow_from

FLOW = flow_from(
    {
        "id": "sim-ab",
        "holdout_percent": 50,
        "trigger": {
            "event": "contact.tag_added",
            "condition": {"kind": "has_tag", "tag": "member"},
        },
        "steps": [
            {
                "id": "pick",
                "kind": "experiment",
                "channel": "email",
                "topic": "newsletter",
                "variants": [
                    {"name": "plain", "subject": "News", "body": "."},
                    {"name": "bold", "subject": "NEWS!", "body": "."},
                ],
                "metric": {"kind": "opened", "window": "7d"},
                "winner": {"after": "sample_size", "sample_size": 1000},
            },
            {
                "id": "digest",
                "kind": "send_email",
                "topic": "newsletter",
                "subject": "Digest",
                "body": ".",
            },
        ],
    }
)
PEOPLE = [f"sim-{n}" for n in range(10)]
HELD = [c for c in PEOPLE if in_holdout(FLOW.id, c, 50)]
TREATED = [c for c in PEOPLE if c not in HELD]
LEFT = TREATED[0]  # opted out of the newsletter by email


@pytest.fixture
def published(engine):
    assert HELD and len(TREATED) >= 3, HELD
    for c in PEOPLE:
        ingest(engine, contact(c, email=f"{c}@example.com", tags=("member",)))
    ingest(
        engine,
        [
            event(
                LEFT,
                EventType.PREFERENCES_CHANGED,
                {"topic": "newsletter", "channel": "email", "subscribed": False},
            )
        ],
    )
    with engine.begin() as conn:
        publish(conn, FLOW)
    return engine


def _steps(timeline: dict) -> dict[str, dict]:
    return {e["step_id"]: e for e in timeline["entries"] if e["kind"] == "step"}


async def test_timelines_show_variants_holdouts_and_topic_skips(settings, published):
    async with async_client(settings, published) as client:
        held = _steps(
            ok(
                await client.post(
                    f"/v1/flows/{FLOW.id}/simulate", json={"contact_id": HELD[0], "days": 1}
                )
            )
        )
        left = _steps(
            ok(
                await client.post(
                    f"/v1/flows/{FLOW.id}/simulate", json={"contact_id": LEFT, "days": 1}
                )
            )
        )
        got = _steps(
            ok(
                await client.post(
                    f"/v1/flows/{FLOW.id}/simulate", json={"contact_id": TREATED[1], "days": 1}
                )
            )
        )
        report = ok(
            await client.post(f"/v1/flows/{FLOW.id}/simulate", json={"sample": 20, "days": 1})
        )
    assert {s: (held[s]["result"], held[s]["reason"], held[s].get("variant")) for s in held} == {
        "pick": ("skipped", "holdout", None),
        "digest": ("skipped", "holdout", None),
    }
    assert (left["pick"]["result"], left["pick"]["reason"], left["pick"]["messages"]) == (
        "skipped",
        "unsubscribed_topic",
        [],
    )
    assert left["pick"]["variant"] == assign_variant(FLOW.steps[0], FLOW.id, LEFT)
    assert (left["digest"]["result"], left["digest"]["reason"]) == ("skipped", "unsubscribed_topic")
    expected = assign_variant(FLOW.steps[0], FLOW.id, TREATED[1])
    assert (got["pick"]["result"], got["pick"]["variant"], got["pick"]["variant_phase"]) == (
        "completed",
        expected,
        "test",
    )
    assert got["pick"]["messages"][0]["subject"] == {"plain": "News", "bold": "NEWS!"}[expected]

    steps = {s["step_id"]: s for s in report["steps"]}
    assert steps["pick"]["variants"] == dict(
        Counter(assign_variant(FLOW.steps[0], FLOW.id, c) for c in TREATED)
    )
    assert steps["pick"]["skipped"] == {"holdout": len(HELD), "unsubscribed_topic": 1}
    assert steps["digest"]["skipped"] == {"holdout": len(HELD), "unsubscribed_topic": 1}


async def test_a_decided_experiment_gives_the_simulated_contact_its_winner(settings, published):
    with published.begin() as conn:
        conn.execute(
            experiment_decisions.insert().values(
                flow_id=FLOW.id,
                step_id="pick",
                winner="bold",
                rule="sample_size",
                decided_at=datetime.now(UTC),
                result={},
            )
        )
    plain = next(c for c in TREATED[1:] if assign_variant(FLOW.steps[0], FLOW.id, c) == "plain")
    async with async_client(settings, published) as client:
        timeline = ok(
            await client.post(
                f"/v1/flows/{FLOW.id}/simulate", json={"contact_id": plain, "days": 1}
            )
        )
    pick = _steps(timeline)["pick"]
    assert (pick["variant"], pick["variant_phase"]) == ("bold", "winner")
    assert pick["messages"][0]["subject"] == "NEWS!"
