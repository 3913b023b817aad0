"""POST /v1/flows/{id}/simulate: a flow with a webhook, a script and a wait played for one
contact (the webhook's receiver hears nothing: the request is only recorded), a sample
of an audience, and bad bodies refused with 422 naming the field."""

import pytest

from projections.event_store import ingest
from projections.flow_catalogue import publish
from tests.api.v1_harness import async_client, ok
from tests.fakes.provider_http import FakeProvider, Reply
from tests.fakes.webhook_target import WebhookTarget
from tests.journey_harness import contact, flow_from
from tests.simulation.test_simulate_cli import row_counts


@pytest.fixture
def target():
    with WebhookTarget() as receiver:
        yield receiver


@pytest.fixture
def published(engine, target):
    for n, zone in ((1, "America/New_York"), (2, "Asia/Tokyo"), (3, None)):
        attributes = {"first_name": f"C{n}", **({"time_zone": zone} if zone else {})}
        ingest(
            engine,
            contact(
                f"c{n}", email=f"c{n}@example.com", tags=("vip",) if n < 3 else (), **attributes
            ),
        )
    with engine.begin() as conn:
        publish(
            conn,
            flow_from(
                {
                    "id": "crm-sync",
                    "trigger": {
                        "event": "contact.tag_added",
                        "condition": {"kind": "has_tag", "tag": "vip"},
                    },
                    "steps": [
                        {
                            "id": "notify-crm",
                            "kind": "webhook",
                            "url": f"{target.url}/hook",
                            "body": '{"contact": "{{ contact_id }}"}',
                        },
                        {
                            "id": "sync",
                            "kind": "run_script",
                            "script": "echo",
                            "arguments": {"a": 1},
                        },
                        {"id": "pause", "kind": "wait", "delay": "2d"},
                        {
                            "id": "hello",
                            "kind": "send_email",
                            "subject": "Hello {{ first_name }}",
                            "body": "Two days later.",
                        },
                        {
                            "id": "ask",
                            "kind": "wait_for_event",
                            "event": "email.clicked",
                            "timeout": "1d",
                            "on_event": "thanks",
                            "on_timeout": "bye",
                        },
                        {
                            "id": "thanks",
                            "kind": "send_email",
                            "subject": "Thanks",
                            "body": "Clicked.",
                            "next": "bye",
                        },
                        {"id": "bye", "kind": "exit", "reason": "done"},
                    ],
                }
            ),
            allow_private_targets=True,
        )
    return engine


async def test_one_contact_over_http_records_the_webhook_instead_of_calling_it(
    settings, published, target
):
    settings = settings.model_copy(update={"webhook_allow_private_targets": True})
    before = row_counts(published)
    async with async_client(settings, published) as client:
        timeline = ok(
            await client.post("/v1/flows/crm-sync/simulate", json={"contact_id": "c1", "days": 5})
        )
    assert timeline["zone"] == "America/New_York" and timeline["zone_source"] == "attribute"
    assert timeline["enrolled_at"].endswith(("-05:00", "-04:00"))
    by_step = {e["step_id"]: e for e in timeline["entries"] if e["kind"] == "step"}
    [call] = by_step["notify-crm"]["messages"]
    assert call == {
        "channel": "webhook",
        "to": f"{target.url}/hook",
        "subject": f"POST {target.url}/hook",
        "body": '{"contact": "c1"}',
    }
    assert by_step["sync"]["messages"][0]["channel"] == "script"
    assert by_step["hello"]["messages"][0]["subject"] == "Hello C1"
    assert by_step["ask"]["outcome"] == "no email.clicked in time"
    waits = [e for e in timeline["entries"] if e["kind"] == "wait"]
    assert [w["ended_by"] for w in waits] == ["time", "time"]
    assert timeline["status"] == "exited"
    assert target.requests == []
    assert row_counts(published) == before


async def test_a_sample_counts_who_reaches_each_step(settings, published):
    settings = settings.model_copy(update={"webhook_allow_private_targets": True})
    async with async_client(settings, published) as client:
        report = ok(
            await client.post(
                "/v1/flows/crm-sync/simulate",
                json={
                    "sample": 10,
                    "days": 5,
                    "events": [
                        {
                            "type": "email.clicked",
                            "after": "2d1h",
                            "payload": {"flow_id": "crm-sync", "step_id": "hello"},
                        }
                    ],
                },
            )
        )
    assert report["audience"] == 2 and report["sampled"] == 2
    steps = {s["step_id"]: s for s in report["steps"]}
    assert steps["hello"]["reached"] == 2 and steps["hello"]["messages"] == {"email": 2}
    assert steps["thanks"]["messages"] == {"email": 2}
    assert steps["notify-crm"]["messages"] == {"webhook": 2}
    assert report["endings"] == {"exited": 2}


@pytest.mark.parametrize(
    "body, status, loc",
    [
        ({"days": 5}, 422, "body"),
        ({"contact_id": "c1", "sample": 3}, 422, "body"),
        ({"contact_id": "c1", "version": 1, "draft": True}, 422, "body"),
        ({"contact_id": "c1", "days": 0}, 422, "days"),
        ({"contact_id": "c1", "day": 3}, 422, "day"),
        ({"contact": "c1", "sample": 2}, 422, "contact"),
        (
            {"contact_id": "c1", "events": [{"type": "sms.received", "after": "later"}]},
            422,
            "events[0].after",
        ),
        (
            {
                "contact_id": "c1",
                "events": [{"type": "sms.received", "after": "1h", "payload": {}}],
            },
            422,
            "events[0].payload.body",
        ),
        (
            {
                "contact_id": "c1",
                "days": 2,
                "events": [{"type": "sms.received", "after": "3d", "payload": {"body": "hi"}}],
            },
            422,
            "events[0].after",
        ),
    ],
)
async def test_bad_bodies_are_refused_naming_the_field(settings, published, body, status, loc):
    async with async_client(settings, published) as client:
        response = await client.post("/v1/flows/crm-sync/simulate", json=body)
    assert response.status_code == status, response.text
    assert loc in [d["loc"] for d in response.json()["detail"]], response.text


async def test_contact_and_sample_together_are_refused_in_plain_words(settings, published):
    async with async_client(settings, published) as client:
        response = await client.post(
            "/v1/flows/crm-sync/simulate", json={"contact_id": "c1", "sample": 3}
        )
    assert response.status_code == 422
    assert [d["msg"] for d in response.json()["detail"]] == ["give contact_id or sample, not both"]


async def test_unknown_flows_and_contacts_are_404(settings, published):
    async with async_client(settings, published) as client:
        assert (
            await client.post("/v1/flows/nope/simulate", json={"contact_id": "c1"})
        ).status_code == 404
        missing = await client.post("/v1/flows/crm-sync/simulate", json={"contact_id": "ghost"})
        assert missing.status_code == 404 and "ghost" in missing.json()["detail"]
        unkeyed = await client.post(
            "/v1/flows/crm-sync/simulate",
            json={"contact_id": "c1"},
            headers={"Authorization": "Bearer wrong"},
        )
        assert unkeyed.status_code == 401


async def test_attachments_are_described_not_fetched_and_a_started_flow_is_found(settings, engine):
    """The attachment's server hears nothing (even where private targets are allowed,
    so a download would reach it), and the flow a start_flow step starts is in the
    simulation's catalogue, so the child journey runs there."""
    with FakeProvider(Reply(200, "%PDF-1.4", {"Content-Type": "application/pdf"})) as files:
        ingest(engine, contact("c9", email="c9@example.com", first_name="Nine"))
        with engine.begin() as conn:
            publish(
                conn,
                flow_from(
                    {
                        "id": "follow-up",
                        "steps": [
                            {
                                "id": "welcome-back",
                                "kind": "send_email",
                                "subject": "Follow-up",
                                "body": "From the started flow.",
                            }
                        ],
                    }
                ),
            )
            publish(
                conn,
                flow_from(
                    {
                        "id": "with-menu",
                        "steps": [
                            {
                                "id": "menu",
                                "kind": "send_email",
                                "subject": "Our menu",
                                "body": "Attached.",
                                "attachments": [
                                    {
                                        "filename": "menu.pdf",
                                        "url": f"{files.url}/menu.pdf",
                                        "size_bytes": 8,
                                        "content_type": "application/pdf",
                                    }
                                ],
                            },
                            {
                                "id": "more",
                                "kind": "start_flow",
                                "flow_id": "follow-up",
                                "wait_for_completion": True,
                            },
                        ],
                    }
                ),
                allow_private_targets=True,
            )
        allowing = settings.model_copy(update={"webhook_allow_private_targets": True})
        async with async_client(allowing, engine) as client:
            timeline = ok(
                await client.post(
                    "/v1/flows/with-menu/simulate", json={"contact_id": "c9", "days": 2}
                )
            )
        assert files.requests == []
    by_step = {e["step_id"]: e for e in timeline["entries"] if e["kind"] == "step"}
    [menu] = by_step["menu"]["messages"]
    assert menu["body"] == (
        "Attached.\n[attachment menu.pdf (application/pdf): described, "
        "not fetched in a simulation]"
    )
    assert by_step["more"]["outcome"] == "sub-flow follow-up completed", by_step["more"]
    assert timeline["status"] == "completed", timeline
