"""The blocking client against the real app served by uvicorn over loopback HTTP, with
a real worker on the dev server: a service drives a flow from draft to archive, and
every refusal arrives as the exception class for it, naming the server's field paths.

The tests run on the session's event loop, which also runs the worker; each blocking
call goes through asyncio.to_thread so the worker can answer meanwhile (the journeys
route reads their state with a query, answered by that worker)."""

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from domain.journey import JourneyStatus
from dripstone_client import (
    AuthenticationError,
    Conflict,
    Dripstone,
    NotFound,
    ValidationFailed,
)
from projections.schema import events
from tests.client.harness import KEY, served_app, serving
from tests.journey_harness import journey_result, journey_worker, outbox

WELCOME = {
    "id": "client-welcome",
    "name": "Welcome (client test)",
    "trigger": {
        "event": "form.submitted",
        "where": [{"path": "form_id", "value": "client-signup"}],
    },
    "steps": [
        {"id": "hello", "kind": "send_email", "subject": "Hello {{ first_name }}", "body": "Hi."},
        {"id": "tag", "kind": "add_tag", "tag": "welcomed"},
    ],
}


def call(fn, *args, **kwargs):
    return asyncio.to_thread(fn, *args, **kwargs)


def stored_events(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(events)).scalar_one()


@pytest.mark.devserver
async def test_a_service_drives_a_flow_from_draft_to_archive(dev_server_env, engine, settings):
    env = dev_server_env
    async with journey_worker(env.client, engine, settings):
        with (
            serving(served_app(settings, engine, env.client)) as base_url,
            Dripstone(base_url, KEY) as dripstone,
        ):
            upserted = await call(
                dripstone.upsert_contact,
                "cl-ann",
                email="ann@example.com",
                attributes={"first_name": "Ann"},
            )
            assert (upserted["type"], upserted["appended"]) == ("contact.created", True)
            assert upserted["event_id"].startswith("client-")  # made here, so retries are safe

            broken = {**WELCOME, "steps": [{**WELCOME["steps"][0], "subject": "{{ nickname }}"}]}
            verdict = await call(dripstone.validate_flow, broken)
            assert not verdict["valid"]
            assert [(p["step_id"], p["field"]) for p in verdict["problems"]] == [
                ("hello", "subject")
            ]
            assert (await call(dripstone.validate_flow, WELCOME))["valid"]

            saved = await call(dripstone.save_flow, WELCOME)
            assert (saved["flow_id"], saved["status"], saved["problems"]) == (
                "client-welcome",
                "draft",
                [],
            )
            published = await call(dripstone.publish_flow, "client-welcome")
            assert (published["version"], published["backfill"]) == (1, None)
            listed = {f["flow_id"]: f for f in (await call(dripstone.list_flows))["flows"]}
            assert listed["client-welcome"]["status"] == "published"

            accepted = await call(
                dripstone.send_event, "form.submitted", "cl-ann", {"form_id": "client-signup"}
            )
            [routed] = accepted["routed"]
            assert (routed["flow_id"], routed["outcome"]) == ("client-welcome", "enrolled")
            state = await journey_result(env, routed["workflow_id"])
            assert state.status == JourneyStatus.COMPLETED
            assert [m.subject for m in outbox(engine, "cl-ann")] == ["Hello Ann"]
            assert (await call(dripstone.get_contact, "cl-ann"))["tags"] == ["welcomed"]

            journeys = []
            for _ in range(100):  # the index is told by the journey's last activity
                journeys = (await call(dripstone.contact_journeys, "cl-ann"))["journeys"]
                if journeys and journeys[0]["status"] == "ended":
                    break
                await asyncio.sleep(0.1)
            assert [
                (j["flow_id"], j["status"], j["details"]["status"], j["details"]["trail"])
                for j in journeys
            ] == [
                (
                    "client-welcome",
                    "ended",
                    "completed",
                    ["hello: email sent", "tag: contact.tag_added welcomed"],
                )
            ]

            versions = await call(dripstone.flow_versions, "client-welcome")
            assert [v["version"] for v in versions["versions"]] == [1]
            version = await call(dripstone.flow_version, "client-welcome", 1)
            assert version["steps"][1]["tag"] == "welcomed"
            assert (await call(dripstone.pause_flow, "client-welcome"))["status"] == "paused"
            assert (await call(dripstone.resume_flow, "client-welcome"))["status"] == "published"
            assert (await call(dripstone.archive_flow, "client-welcome"))["status"] == "archived"
            with pytest.raises(Conflict) as refused:
                await call(dripstone.save_flow, WELCOME)
            assert refused.value.status == 409 and "archived" in str(refused.value)


def test_refusals_raise_their_own_class_with_the_servers_words(engine, settings):
    with serving(served_app(settings, engine)) as base_url:
        with Dripstone(base_url, "not-the-key") as stranger, pytest.raises(AuthenticationError):
            stranger.list_flows()
        with Dripstone(base_url, KEY) as dripstone:
            with pytest.raises(NotFound, match="there is no contact 'nobody'"):
                dripstone.get_contact("nobody")
            with pytest.raises(NotFound):
                dripstone.flow_versions("no-such-flow")
            with pytest.raises(ValidationFailed) as bad:
                dripstone.send_event("form.submitted", "cl-bob", {"form": "typo"})
            assert [e["loc"] for e in bad.value.errors] == ["payload.form_id", "payload.form"]
            assert "payload.form_id" in str(bad.value) and bad.value.status == 422
            with pytest.raises(ValidationFailed) as no_id:
                dripstone.save_flow({"name": "no id"})
            assert [e["loc"] for e in no_id.value.errors] == ["id"]
            assert stored_events(engine) == 0


class Counting(httpx.HTTPTransport):
    def __init__(self):
        super().__init__()
        self.requests = 0

    def handle_request(self, request):
        self.requests += 1
        return super().handle_request(request)


def custom_events(contact_id: str, count: int, start: int = 0) -> list[dict]:
    return [
        {
            "event_id": f"{contact_id}-{n}",
            "type": "custom",
            "contact_id": contact_id,
            "payload": {"name": "page_scrolled"},
        }
        for n in range(start, start + count)
    ]


def test_a_long_list_of_events_goes_in_chunks_of_a_thousand(engine, settings):
    transport = Counting()
    with (
        serving(served_app(settings, engine)) as base_url,
        Dripstone(base_url, KEY, transport=transport, timeout=60) as dripstone,
    ):
        first = dripstone.send_events(custom_events("cl-many", 2500))
        assert transport.requests == 3
        assert (first["received"], first["appended"], first["duplicates"]) == (2500, 2500, [])
        again = dripstone.send_events(custom_events("cl-many", 2500))
        assert (again["appended"], len(again["duplicates"])) == (0, 2500)

        batch = custom_events("cl-more", 1600)
        batch[1500]["payload"] = {}
        with pytest.raises(ValidationFailed) as refused:
            dripstone.send_events(batch)
    # The path is the event's index in the caller's list, not in its chunk.
    assert [e["loc"] for e in refused.value.errors] == ["events[1500].payload.name"]
    assert refused.value.accepted["appended"] == 1000  # the first chunk was stored
    assert stored_events(engine) == 3500


def test_dead_letters_and_journeys_without_temporal(engine, settings):
    from tests.api.test_v1_dispatch import dead_letter

    dead_letter(engine, "cl-dl-1", "cl-kim", "gone for good")
    dead_letter(engine, "cl-dl-2", "cl-kim", "gone too")
    with serving(served_app(settings, engine)) as base_url, Dripstone(base_url, KEY) as dripstone:
        assert dripstone.dispatch_counts() == {"waiting": 0, "failing": 0, "dead": 2}
        page = dripstone.dead_letters(limit=1)
        assert [d["event_id"] for d in page["dead_letters"]] == ["cl-dl-1"]
        rest = dripstone.dead_letters(after=page["next_after"])
        assert ([d["reason"] for d in rest["dead_letters"]], rest["next_after"]) == (
            ["gone too"],
            None,
        )
        assert dripstone.retry_dead_letter("cl-dl-1")["action"] == "retried"
        assert dripstone.skip_dead_letter("cl-dl-2")["action"] == "skipped"
        with pytest.raises(NotFound, match="not a dead letter"):
            dripstone.skip_dead_letter("cl-dl-2")
        assert dripstone.dispatch_counts() == {"waiting": 1, "failing": 1, "dead": 0}
        # Listed from the journey index, which needs no Temporal.
        assert dripstone.contact_journeys("cl-kim") == {"contact_id": "cl-kim", "journeys": []}


@pytest.mark.devserver
async def test_a_service_sends_a_mailing_chain_on_the_dev_server(dev_server_env, engine, settings):
    env = dev_server_env
    chain = {
        "id": "client-chain",
        "audience": {"condition": {"kind": "has_tag", "tag": "cl-vip"}},
        "steps": [
            {"id": "main", "channel": "email", "subject": "Hi {{ first_name }}", "body": "Sale."},
            {
                "id": "nudge",
                "channel": "email",
                "when": {"delay": "2s"},
                "to": "terms",
                "terms": ["not_opened"],
                "subject": "Still on",
                "body": "Sale ends.",
            },
        ],
    }
    async with journey_worker(env.client, engine, settings):
        with (
            serving(served_app(settings, engine, env.client)) as base_url,
            Dripstone(base_url, KEY) as dripstone,
        ):
            for contact_id in ("cm-1", "cm-2"):
                await call(
                    dripstone.upsert_contact,
                    contact_id,
                    email=f"{contact_id}@example.com",
                    attributes={"first_name": contact_id},
                )
                await call(dripstone.send_event, "contact.tag_added", contact_id, {"tag": "cl-vip"})
            with pytest.raises(ValidationFailed) as refused:
                await call(
                    dripstone.save_mailing,
                    {**chain, "steps": [{**chain["steps"][0], "channel": "fax"}]},
                )
            saved = await call(dripstone.save_mailing, chain)
            preview = await call(dripstone.preview_mailing, "client-chain")
            sent = await call(dripstone.send_mailing, "client-chain")
            await call(
                dripstone.send_event,
                "email.opened",
                "cm-1",
                {"message_key": "mailing/client-chain/main/cm-1"},
            )
            for _ in range(300):
                detail = await call(dripstone.get_mailing, "client-chain")
                if detail["status"] == "sent":
                    break
                await asyncio.sleep(0.1)
    assert "steps.0.channel" in str(refused.value.errors)
    assert (saved["status"], preview["count"], sent["status"]) == ("draft", 2, "sending")
    counts = {step["step_id"]: step for step in detail["steps"]}
    assert detail["status"] == "sent"
    assert (counts["main"]["sent"], counts["main"]["opened"], counts["nudge"]["sent"]) == (2, 1, 1)
