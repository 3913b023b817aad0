"""Per-step analytics of experiment steps and topic opt-outs, end to end on the
time-skipping server: contacts enrolled and their opt-outs and opens fed through the
production ingest and dispatch path; message.sent carrying topic, locale and variant;
the counts read through GET /v1/flows/{id}/stats and `dripstone flow stats`."""

import json

from sqlalchemy import select

from domain.events import EventType
from domain.experiments.assignment import assign_variant
from domain.journey import JourneyStatus
from projections.event_store import ingest
from projections.flow_catalogue import publish
from projections.schema import events, sent_messages
from tests.analytics.steps import counts
from tests.api.v1_harness import async_client, ok
from tests.cli.invoke import dripstone_run
from tests.journey_harness import (
    contact,
    event,
    flow_from,
    journey_result,
    journey_worker,
    outbox,
    send,
)
from tests.workflows.live_journeys import at_step

FLOW = flow_from(
    {
        "id": "topic-ab",
        "steps": [
            {
                "id": "pick",
                "kind": "experiment",
                "channel": "email",
                "topic": "newsletter",
                "variants": [
                    {
                        "name": "plain",
                        "subject": "News",
                        "body": ".",
                        "locales": {"pt": {"subject": "Novidades"}},
                    },
                    {
                        "name": "bold",
                        "subject": "NEWS!",
                        "body": ".",
                        "locales": {"pt": {"subject": "NOVIDADES!"}},
                    },
                ],
                "metric": {"kind": "opened", "window": "30d"},
                "winner": {"after": "sample_size", "sample_size": 1000},
            },
            {"id": "pause", "kind": "wait", "delay": "1d"},
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
PICK = FLOW.steps[0]
PEOPLE = [f"tab-{n}" for n in range(6)]
LEFT_BEFORE = "tab-0"  # left the newsletter before enrolling: both sends skipped
LEFT_DURING = "tab-1"  # left it during the wait, after the experiment's message
LEFT_AFTER = "tab-2"  # left it after the digest: the digest gets the unsubscribe
PORTUGUESE = "tab-3"
SUBJECTS = {
    ("plain", None): "News",
    ("bold", None): "NEWS!",
    ("plain", "pt"): "Novidades",
    ("bold", "pt"): "NOVIDADES!",
}


def _left_newsletter(contact_id: str):
    return event(
        contact_id,
        EventType.PREFERENCES_CHANGED,
        {"topic": "newsletter", "channel": "email", "subscribed": False, "via": "preference_page"},
    )


async def test_experiment_sends_and_topic_opt_outs_count_per_step_and_variant(
    time_skipping_env, engine, settings, cli_database
):
    variant = {c: assign_variant(PICK, FLOW.id, c) for c in PEOPLE}
    assert set(variant.values()) == {"plain", "bold"}, variant
    for c in PEOPLE:
        extra = {"locale": "pt-BR"} if c == PORTUGUESE else {}
        ingest(engine, contact(c, email=f"{c}@example.com", **extra))
    with engine.begin() as conn:
        publish(conn, FLOW)
    async with (
        journey_worker(time_skipping_env.client, engine, settings) as router,
        async_client(settings, engine, time_skipping_env.client) as api,
    ):
        await send(router, engine, _left_newsletter(LEFT_BEFORE))
        journeys = {}
        for c in PEOPLE:
            routed = await send(router, engine, event(c, "form.submitted", {"form_id": "x"}))
            [journeys[c]] = [r.workflow_id for r in routed if r.outcome == "enrolled"]
        for workflow_id in journeys.values():
            await at_step(time_skipping_env, workflow_id, "pause")
        await send(router, engine, _left_newsletter(LEFT_DURING))
        with engine.connect() as conn:
            keys = dict(
                conn.execute(select(sent_messages.c.contact_id, sent_messages.c.message_key)).all()
            )
        # Everyone who got the bold variant opens it; one plain reader opens too.
        openers = [c for c in keys if variant[c] == "bold"] + [
            next(c for c in keys if variant[c] == "plain")
        ]
        for c in openers:
            await send(router, engine, event(c, EventType.EMAIL_OPENED, {"message_key": keys[c]}))
        for workflow_id in journeys.values():
            assert (
                await journey_result(time_skipping_env, workflow_id)
            ).status == JourneyStatus.COMPLETED
        await send(router, engine, _left_newsletter(LEFT_AFTER))
        stats = ok(await api.get(f"/v1/flows/{FLOW.id}/stats"))

    # Each message went out in the contact's locale and variant, and says so.
    for c in set(PEOPLE) - {LEFT_BEFORE}:
        locale = "pt" if c == PORTUGUESE else None
        assert outbox(engine, c)[0].subject == SUBJECTS[(variant[c], locale)]
    with engine.connect() as conn:
        sent = [
            row.payload
            for row in conn.execute(select(events).where(events.c.type == EventType.MESSAGE_SENT))
        ]
    picked = {p["message_key"]: p for p in sent if p["step_id"] == "pick"}
    assert {
        (p["topic"], p.get("locale"), p["variant"], p["variant_phase"])
        for p in picked.values()
        if p["message_key"] == keys[PORTUGUESE]
    } == {("newsletter", "pt", variant[PORTUGUESE], "test")}
    assert {p["variant"] for p in picked.values()} == {variant[c] for c in keys}
    digests = [p for p in sent if p["step_id"] == "digest"]
    assert len(digests) == len(PEOPLE) - 2
    assert {(p["topic"], "variant" in p) for p in digests} == {("newsletter", False)}

    names = ("entered", "completed", "skipped_total", "sent", "opened", "unsubscribed")
    assert counts(stats, "pick", *names) == (6, 5, 1, 5, len(openers), 1)
    assert counts(stats, "digest", *names) == (6, 4, 2, 4, 0, 1)
    by_step = {row["step_id"]: row for row in stats["steps"]}
    assert by_step["pick"]["skipped"]["unsubscribed_topic"] == 1
    assert by_step["digest"]["skipped"]["unsubscribed_topic"] == 2
    assert by_step["pick"]["channel"] == "email" and by_step["digest"]["variants"] is None
    got = {v["name"]: v for v in by_step["pick"]["variants"]}
    assert list(got) == ["plain", "bold"]
    for name, row in got.items():
        members = [c for c in PEOPLE if variant[c] == name]
        reached = [c for c in members if c != LEFT_BEFORE]
        assert (row["assigned"], row["sent"]) == (len(members), len(reached)), (name, row)
        assert row["opened"] == len([c for c in openers if variant[c] == name])
        assert row["unsubscribed"] == (1 if variant[LEFT_DURING] == name else 0)

    table = dripstone_run("flow", "stats", FLOW.id).stdout
    bold_row = next(line for line in table.splitlines() if "│ pick/bold " in line)
    cells = [cell.strip() for cell in bold_row.split("│")[1:-1]]
    assert cells[:3] == ["pick/bold", "variant", str(got["bold"]["assigned"])]
    assert cells[9:11] == [str(got["bold"]["sent"]), "0"]  # sent, delivered
    assert "unsubscribed_topic 1" in table and "unsubscribed_topic 2" in table
    assert json.loads(dripstone_run("flow", "stats", FLOW.id, "--json").stdout) == stats
