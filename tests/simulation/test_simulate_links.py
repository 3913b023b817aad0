"""A simulated email shows the preference and one-click links a real one would carry, but
as the test sends' inert placeholders: whoever runs a simulation reads it, and a real
link would hand them the contact's preferences."""

import re

from cryptography.fernet import Fernet

from activities.preference_links import TEST_SEND_TOKEN
from projections.event_store import ingest
from projections.flow_catalogue import publish
from tests.api.v1_harness import async_client, ok
from tests.journey_harness import contact, flow_from


async def test_a_simulated_email_carries_inert_preference_links(settings, engine):
    settings = settings.model_copy(
        update={
            "preference_link_key": Fernet.generate_key().decode(),
            "preference_base_url": "https://mail.example.com",
        }
    )
    ingest(engine, contact("c-ada", email="ada@example.com"))
    with engine.begin() as conn:
        publish(
            conn,
            flow_from(
                {
                    "id": "news",
                    "steps": [
                        {
                            "id": "mail",
                            "kind": "send_email",
                            "subject": "News",
                            "body": "See {{ preferences_url }}",
                            "topic": "newsletter",
                        }
                    ],
                }
            ),
        )
    async with async_client(settings, engine) as client:
        timeline = ok(
            await client.post("/v1/flows/news/simulate", json={"contact_id": "c-ada", "days": 1})
        )
    [mail] = [e for e in timeline["entries"] if e.get("step_id") == "mail"]
    body = mail["messages"][0]["body"]
    tokens = re.findall(r"https://mail\.example\.com/preferences/(\S+)", body)
    assert tokens == [TEST_SEND_TOKEN], body
