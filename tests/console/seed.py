"""What the console tests look at: contacts taken in through the event store, a flow
published and run for them on the time-skipping server by the real worker (so the
messages, journey rows and counts are the engine's own), and a mailing saved over /v1 (POST /v1/mailings)."""

from projections.event_store import ingest
from tests.journey_harness import contact, enroll_and_finish, flow_from, journey_worker

WELCOME = {"id": "welcome", "name": "Welcome series", "steps": [
    {"id": "hello", "kind": "send_email", "subject": "Welcome, {{ first_name }}",
     "body": "Glad you came."},
    {"id": "engaged", "kind": "branch", "condition": {"kind": "has_tag", "tag": "vip"},
     "then": "vip", "otherwise": "done"},
    {"id": "vip", "kind": "add_tag", "tag": "welcomed-vip"},
    {"id": "done", "kind": "exit"}]}

MAILING = {"id": "spring", "name": "Spring sale",
           "audience": {"condition": {"kind": "has_tag", "tag": "vip"}},
           "steps": [{"id": "main", "channel": "email", "subject": "Spring", "body": "Sale."}]}

PEOPLE = (("c-1", "ann@example.com", ("vip",), "Ann"), ("c-2", "bo@example.com", (), "Bo"))


async def run_welcome(env, engine, settings) -> None:
    for contact_id, email, tags, name in PEOPLE:
        ingest(engine, contact(contact_id, email=email, tags=tags, first_name=name))
    async with journey_worker(env.client, engine, settings) as router:
        for contact_id, *_ in PEOPLE:
            await enroll_and_finish(env, router, engine, flow_from(WELCOME), contact_id)
