"""Per-step analytics, end to end: journeys on the time-skipping server enrolled through
the ingest path, sending through the real SendGrid adapter (its HTTP API faked on
loopback), SendGrid's signed Event Webhook posting delivery, open, click, bounce and
unsubscribe back with the custom_args the adapter sent; the counts read through
GET /v1/flows/{id}/stats and `dripstone flow stats`."""

import json
import time

from domain.journey import JourneyStatus
from projections.event_store import ingest
from projections.flow_catalogue import publish
from tests.analytics.steps import STATS_FLOW, counts
from tests.api.signing import SendGridSigner, sendgrid_event
from tests.api.v1_harness import async_client, ok
from tests.cli.invoke import dripstone_run
from tests.fakes.provider_http import FakeProvider, Reply
from tests.journey_harness import contact, event, journey_result, journey_worker, send
from tests.workflows.live_journeys import at_step

CONTACTS = {
    "s-open": "open@example.com",
    "s-bounce": "bounce@example.com",
    "s-vip": "vip@example.com",
    "s-nomail": None,
}


async def test_counts_per_step_from_ingest_to_provider_reports(
    time_skipping_env, engine, settings, cli_database
):
    signer = SendGridSigner()
    for contact_id, email in CONTACTS.items():
        ingest(
            engine,
            contact(
                contact_id,
                email=email,
                phone="+14155550123",
                tags=("vip",) if contact_id == "s-vip" else (),
            ),
        )
    with engine.begin() as conn:
        publish(conn, STATS_FLOW)
    with FakeProvider(Reply(202, "", {"X-Message-Id": "sg-1"})) as sendgrid:
        configured = settings.model_copy(
            update={
                "email_provider": "sendgrid",
                "sendgrid_api_key": "SG.key",
                "sendgrid_base_url": sendgrid.url,
                "sendgrid_webhook_public_key": signer.public_key,
            }
        )
        async with (
            journey_worker(time_skipping_env.client, engine, configured) as router,
            async_client(configured, engine, time_skipping_env.client) as api,
        ):
            journeys = []
            for contact_id in CONTACTS:
                routed = await send(
                    router, engine, event(contact_id, "form.submitted", {"form_id": "stats"})
                )
                journeys += [r.workflow_id for r in routed if r.outcome == "enrolled"]
            assert len(journeys) == len(CONTACTS)
            for workflow_id in journeys:
                await at_step(time_skipping_env, workflow_id, "wait")

            # Everyone sits in the two-day wait: nothing has run past it yet.
            waiting = ok(await api.get("/v1/flows/stats-flow/stats"))
            assert counts(waiting, "mail", "entered", "completed", "sent") == (4, 3, 3)
            assert waiting["steps"][0]["skipped"]["no_address"] == 1
            assert counts(waiting, "wait", "entered", "waiting", "completed") == (4, 4, 0)

            sent_args = {
                r.json()["personalizations"][0]["to"][0]["email"]: r.json()["custom_args"]
                for r in sendgrid.requests
            }
            assert set(sent_args) == {"open@example.com", "bounce@example.com", "vip@example.com"}
            body = json.dumps(
                [
                    sendgrid_event(
                        "delivered", "sg-d1", "open@example.com", **sent_args["open@example.com"]
                    ),
                    sendgrid_event(
                        "delivered", "sg-d2", "vip@example.com", **sent_args["vip@example.com"]
                    ),
                    sendgrid_event(
                        "open", "sg-o1", "open@example.com", **sent_args["open@example.com"]
                    ),
                    sendgrid_event(
                        "open", "sg-o2", "open@example.com", **sent_args["open@example.com"]
                    ),
                    sendgrid_event(
                        "click",
                        "sg-c1",
                        "open@example.com",
                        url="https://example.com/a",
                        **sent_args["open@example.com"],
                    ),
                    sendgrid_event(
                        "bounce",
                        "sg-b1",
                        "bounce@example.com",
                        type="bounce",
                        reason="550 no such user",
                        **sent_args["bounce@example.com"],
                    ),
                    # After the message went out (a float: not rounded down to before it).
                    {
                        **sendgrid_event("unsubscribe", "sg-u1", "open@example.com"),
                        "timestamp": time.time(),
                    },
                ]
            ).encode()
            posted = await api.post(
                "/webhooks/sendgrid/events", content=body, headers=signer.headers(body)
            )
            assert ok(posted) == {"stored": 7, "duplicates": 0, "ignored": 0}

            states = [await journey_result(time_skipping_env, w) for w in journeys]
            assert {s.status for s in states} == {JourneyStatus.COMPLETED}

            done = ok(await api.get("/v1/flows/stats-flow/stats", params={"version": 1}))
            missing = await api.get("/v1/flows/stats-flow/stats", params={"version": 7})
            unknown = await api.get("/v1/flows/no-such-flow/stats")
            zero = await api.get("/v1/flows/stats-flow/stats", params={"version": 0})

    names = (
        "entered",
        "completed",
        "sent",
        "delivered",
        "opened",
        "clicked",
        "bounced",
        "unsubscribed",
        "waiting",
    )
    assert counts(done, "mail", *names) == (4, 3, 3, 2, 1, 1, 1, 1, 0)
    assert counts(done, "wait", "entered", "completed", "waiting") == (4, 4, 0)
    assert counts(done, "check", "entered", "completed") == (4, 4)
    assert counts(done, "tag", "entered", "completed") == (1, 1)  # only the opener
    assert counts(done, "vip-sms", "entered", "completed", "sent", "skipped_total") == (4, 1, 1, 3)
    assert done["steps"][4]["skipped"]["condition_not_met"] == 3
    assert (done["version"], done["live_version"], done["live_journeys"]) == (1, 1, 0)

    assert missing.status_code == 404 and "has no version 7" in missing.json()["detail"]
    assert unknown.status_code == 404 and "no-such-flow" in unknown.json()["detail"]
    assert zero.status_code == 422 and zero.json()["detail"][0]["loc"] == "query.version"

    table = dripstone_run("flow", "stats", "stats-flow").stdout
    mail_row = next(line for line in table.splitlines() if "│ mail " in line)
    # entered completed skipped exited failed interrupted waiting sent delivered opened
    # clicked bounced unsubscribed converted
    assert [cell.strip() for cell in mail_row.split("│")[3:17]] == [
        "4",
        "3",
        "1",
        "0",
        "0",
        "0",
        "0",
        "3",
        "2",
        "1",
        "1",
        "1",
        "1",
        "0",
    ]
    assert "skipped mail: no_address 1" in table
    as_json = json.loads(
        dripstone_run("flow", "stats", "stats-flow", "--version", "1", "--json").stdout
    )
    assert as_json == done
    refused = dripstone_run("flow", "stats", "stats-flow", "--version", "3", code=2)
    assert "flow 'stats-flow' has no version 3" in refused.stderr
