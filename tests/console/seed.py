"""What the console tests look at: contacts taken in through the event store, flows
(one with an experiment step) published and run for them on the time-skipping server
by the real worker (so the messages, journey rows and counts are the engine's own), and
a mailing saved over /v1 (POST /v1/mailings)."""

import uuid

from projections.event_store import ingest
from projections.flow_catalogue import publish
from tests.journey_harness import (
    contact,
    enroll_and_finish,
    event,
    flow_from,
    journey_result,
    journey_worker,
    send,
)

WELCOME = {
    "id": "welcome",
    "name": "Welcome series",
    "trigger": {"event": "form.submitted", "where": [{"path": "form_id", "value": "signup"}]},
    "steps": [
        {
            "id": "hello",
            "kind": "send_email",
            "subject": "Welcome, {{ first_name }}",
            "body": "Glad you came.",
        },
        {
            "id": "engaged",
            "kind": "branch",
            "condition": {"kind": "has_tag", "tag": "vip"},
            "then": "vip",
            "otherwise": "done",
        },
        {"id": "vip", "kind": "add_tag", "tag": "welcomed-vip"},
        {"id": "done", "kind": "exit"},
    ],
}

# Undecided on purpose (a sample of 50): the console shows the test still running.
AB = {
    "id": "ab-hello",
    "name": "Subject test",
    "trigger": {"event": "form.submitted", "where": [{"path": "form_id", "value": "ab"}]},
    "steps": [
        {
            "id": "subject",
            "kind": "experiment",
            "channel": "email",
            "variants": [
                {"name": "plain", "weight": 1, "subject": "Hello", "body": "."},
                {"name": "bold", "weight": 1, "subject": "HELLO!", "body": "."},
            ],
            "metric": {"kind": "opened", "window": "1d"},
            "winner": {"after": "sample_size", "sample_size": 50},
        },
        {"id": "after", "kind": "add_tag", "tag": "greeted"},
    ],
}

MAILING = {
    "id": "spring",
    "name": "Spring sale",
    "audience": {"condition": {"kind": "has_tag", "tag": "vip"}},
    "steps": [{"id": "main", "channel": "email", "subject": "Spring", "body": "Sale."}],
}


class People:
    """Contact ids of their own per test: the time-skipping server outlives a test's
    database, and a second journey/welcome/<id> would not be re-entered."""

    def __init__(self):
        run = uuid.uuid4().hex[:8]
        self.ann, self.bo = f"ann-{run}", f"bo-{run}"


async def run_welcome(env, engine, settings) -> People:
    people = People()
    ingest(engine, contact(people.ann, email="ann@example.com", tags=("vip",), first_name="Ann"))
    ingest(engine, contact(people.bo, email="bo@example.com", first_name="Bo"))
    # Both published before any event is routed, so every routing sees both.
    with engine.begin() as conn:
        for document in (WELCOME, AB):
            publish(conn, flow_from(document))
    async with journey_worker(env.client, engine, settings) as router:
        for contact_id in (people.ann, people.bo):
            await enroll_and_finish(env, router, engine, flow_from(WELCOME), contact_id)
        # Ann only: Bo's last email stays the welcome, so the browser test's opt-out by
        # Bo counts against the welcome's hello step.
        routed = await send(router, engine, event(people.ann, "form.submitted", {"form_id": "ab"}))
        [enrolled] = [r for r in routed if r.flow_id == "ab-hello" and r.outcome == "enrolled"]
        await journey_result(env, enrolled.workflow_id)
    return people
