"""Call-out steps in real journeys on the time-skipping server: webhooks to a recording
receiver on loopback, phone calls and team notifications through the real twilio and
sendgrid SDKs against local fakes, and run script as a fire-and-forget child workflow."""

import asyncio
import hashlib
import hmac

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError

from domain.contracts.actions import ActionOutcome
from domain.flow import Flow
from domain.journey import JourneyState, JourneyStatus
from domain.validation import validate_flow
from projections.contacts import load_snapshot
from projections.event_store import ingest
from projections.flow_catalogue import PublishRefused, find_flow
from projections.schema import events, message_ledger
from settings import Settings
from tests.fakes import scripts as fake_scripts
from tests.fakes.provider_http import FakeProvider, Reply, twilio_call, twilio_message
from tests.fakes.webhook_target import Answer, WebhookTarget
from tests.journey_harness import contact, enroll_and_finish, flow_from, journey_worker
from tests.workflows.live_journeys import start

SECRET = "s3cret"


def configured(settings: Settings, **overrides) -> Settings:
    # The receiver listens on loopback, so every test but the refusal ones allows it (and
    # publishes its flows with allow_private_targets=True, as such a deployment would).
    options = {
        "webhook_allow_private_targets": True,
        "webhook_signing_secret": SECRET,
        "scripts_module": "tests.fakes.scripts",
        **overrides,
    }
    return Settings(
        _env_file=None, data_dir=settings.data_dir, task_queue=settings.task_queue, **options
    )


def hook_flow(flow_id: str, url: str, **step) -> Flow:
    return flow_from(
        {
            "id": flow_id,
            "steps": [
                {
                    "id": "hook",
                    "kind": "webhook",
                    "url": url,
                    "timeout_seconds": 1,
                    "body": '{"contact": "{{ contact_id }}", "name": {{ first_name | tojson }}}',
                    **step,
                },
                {"id": "after", "kind": "add_tag", "tag": "after-hook"},
            ],
        }
    )


def stored(engine, type: str) -> list:
    with engine.connect() as conn:
        return [
            r.payload for r in conn.execute(select(events.c.payload).where(events.c.type == type))
        ]


async def test_webhook_is_signed_rendered_and_retried_until_delivered(
    time_skipping_env, engine, settings
):
    ingest(engine, contact("c1", first_name="Ann"))
    with WebhookTarget(Answer(200, {"accepted": True})) as target:
        # A slow answer (past the step's 1 s timeout), a 500, then a 429 with Retry-After.
        target.queue(Answer(delay=2.5), Answer(500), Answer(429, headers={"Retry-After": "30"}))
        async with journey_worker(time_skipping_env.client, engine, configured(settings)) as router:
            state = await enroll_and_finish(
                time_skipping_env,
                router,
                engine,
                hook_flow("hooks", f"{target.url}/in"),
                "c1",
                allow_private_targets=True,
            )
    assert [v.outcome for v in state.trail] == ["webhook done", "contact.tag_added after-hook"]
    assert len(target.requests) == 4
    keys = {r.headers["Idempotency-Key"] for r in target.requests}
    assert len(keys) == 1 and keys.pop().endswith("/hook/1")  # the same key on every attempt
    for sent in target.requests:
        assert sent.body == b'{"contact": "c1", "name": "Ann"}'
        timestamp = sent.headers["X-Dripstone-Timestamp"]
        digest = hmac.new(
            SECRET.encode(), f"{timestamp}.".encode() + sent.body, hashlib.sha256
        ).hexdigest()
        assert sent.headers["X-Dripstone-Signature"] == f"sha256={digest}"
    # Only the final answer is recorded: one delivery, one event.
    [answer] = stored(engine, "webhook.responded")
    assert (answer["status"], answer["body"]) == (200, '{"accepted": true}')


async def test_a_webhook_answers_json_fields_a_later_branch_reads(
    time_skipping_env, engine, settings
):
    ingest(engine, contact("c-json", first_name="Jo"))
    with WebhookTarget(
        Answer(200, {"plan": "pro", "score": 7, "items": [{"sku": "a-1"}]})
    ) as target:
        flow = flow_from(
            {
                "id": "hook-json",
                "steps": [
                    {"id": "hook", "kind": "webhook", "url": target.url},
                    {
                        "id": "which",
                        "kind": "branch",
                        "condition": {
                            "kind": "all",
                            "conditions": [
                                {
                                    "kind": "lead_event",
                                    "event": "webhook.responded",
                                    "property": "json.plan",
                                    "value": "pro",
                                },
                                {
                                    "kind": "lead_event",
                                    "event": "webhook.responded",
                                    "property": "json.score",
                                    "op": "gte",
                                    "value": 5,
                                },
                                {
                                    "kind": "lead_event",
                                    "event": "webhook.responded",
                                    "property": "json.items.0.sku",
                                    "value": "a-1",
                                },
                            ],
                        },
                        "then": "pro",
                        "otherwise": "other",
                    },
                    {"id": "pro", "kind": "add_tag", "tag": "pro-plan", "next": "end"},
                    {"id": "other", "kind": "add_tag", "tag": "other-plan"},
                    {"id": "end", "kind": "exit"},
                ],
            }
        )
        async with journey_worker(time_skipping_env.client, engine, configured(settings)) as router:
            state = await enroll_and_finish(
                time_skipping_env, router, engine, flow, "c-json", allow_private_targets=True
            )
    outcomes = [v.outcome for v in state.trail]
    assert outcomes[0] == "webhook done" and "contact.tag_added pro-plan" in outcomes
    [answer] = stored(engine, "webhook.responded")
    assert answer["json"] == {"plan": "pro", "score": 7, "items": [{"sku": "a-1"}]}


async def test_rejected_webhook_is_recorded_and_the_journey_goes_on(
    time_skipping_env, engine, settings
):
    ingest(engine, contact("c2", first_name="Bo"))
    with WebhookTarget(Answer(400, {"error": "unknown contact"})) as target:
        async with journey_worker(time_skipping_env.client, engine, configured(settings)) as router:
            state = await enroll_and_finish(
                time_skipping_env,
                router,
                engine,
                hook_flow("hooks-400", target.url),
                "c2",
                allow_private_targets=True,
            )
    assert len(target.requests) == 1  # a 4xx is final
    assert state.status == JourneyStatus.COMPLETED
    assert state.trail[0].outcome.startswith("webhook failed: webhook answered 400")
    assert state.trail[1].outcome == "contact.tag_added after-hook"
    assert [a["status"] for a in stored(engine, "webhook.responded")] == [400]


@pytest.mark.parametrize("allowed", [False, True])
async def test_loopback_target_needs_the_setting(time_skipping_env, engine, settings, allowed):
    # Publishing and the worker under the same deployment setting.
    ingest(engine, contact("c3", first_name="Cy"))
    flow_id = f"hooks-lo-{allowed}".lower()
    with WebhookTarget() as target:
        options = configured(settings, webhook_allow_private_targets=allowed)
        async with journey_worker(time_skipping_env.client, engine, options) as router:
            if not allowed:
                # Refused when published, naming the field: no journey ever gets to try it.
                with pytest.raises(PublishRefused) as refused:
                    await enroll_and_finish(
                        time_skipping_env,
                        router,
                        engine,
                        hook_flow(flow_id, target.url),
                        "c3",
                        allow_private_targets=allowed,
                    )
            else:
                state = await enroll_and_finish(
                    time_skipping_env,
                    router,
                    engine,
                    hook_flow(flow_id, target.url),
                    "c3",
                    allow_private_targets=allowed,
                )
    if allowed:
        assert state.status == JourneyStatus.COMPLETED
        assert state.trail[0].outcome == "webhook done" and len(target.requests) == 1
    else:
        [problem] = refused.value.problems
        assert (problem.step_id, problem.field, problem.code) == ("hook", "url", "private_target")
        assert "127.0.0.1 is a loopback address" in problem.message
        assert target.requests == []
        with engine.connect() as conn:
            assert find_flow(conn, flow_id) is None  # nothing published


async def test_the_worker_refuses_loopback_in_a_flow_published_while_it_was_allowed(
    time_skipping_env, engine, settings
):
    """Publishing checks literal hosts; the worker checks every address it connects to,
    so a flow published while private targets were allowed is refused at run time once
    the setting is off (and so is a name that resolves to an internal address)."""
    ingest(engine, contact("c4", first_name="Di"))
    with WebhookTarget() as target:
        options = configured(settings, webhook_allow_private_targets=False)
        async with journey_worker(time_skipping_env.client, engine, options) as router:
            state = await enroll_and_finish(
                time_skipping_env,
                router,
                engine,
                hook_flow("hooks-lo-later", target.url),
                "c4",
                allow_private_targets=True,
            )
    assert state.status == JourneyStatus.COMPLETED
    assert target.requests == []
    assert state.trail[0].outcome.startswith(
        "webhook failed: 127.0.0.1 resolves to 127.0.0.1, " "a loopback address"
    )


async def test_a_later_branch_reads_the_webhook_status(time_skipping_env, engine, settings):
    ingest(engine, contact("ok", first_name="Ok") + contact("other", first_name="Other"))
    with WebhookTarget() as target:
        target.queue(Answer(200), Answer(202))
        flow = flow_from(
            {
                "id": "hook-branch",
                "steps": [
                    {"id": "hook", "kind": "webhook", "url": target.url},
                    {
                        "id": "check",
                        "kind": "branch",
                        "then": "good",
                        "otherwise": "other",
                        "condition": {
                            "kind": "lead_event",
                            "event": "webhook.responded",
                            "property": "status",
                            "value": 200,
                        },
                    },
                    {"id": "good", "kind": "add_tag", "tag": "hook-ok", "next": "end"},
                    {"id": "other", "kind": "add_tag", "tag": "hook-other"},
                    {"id": "end", "kind": "exit"},
                ],
            }
        )
        async with journey_worker(time_skipping_env.client, engine, configured(settings)) as router:
            for contact_id in ("ok", "other"):
                await enroll_and_finish(
                    time_skipping_env, router, engine, flow, contact_id, allow_private_targets=True
                )
    with engine.connect() as conn:
        assert load_snapshot(conn, "ok").tags == frozenset({"hook-ok"})
        assert load_snapshot(conn, "other").tags == frozenset({"hook-other"})


async def script_run_id(client, journey_id: str) -> str:
    """The id of the ScriptRunWorkflow a journey started, read from its history."""
    async for history_event in client.get_workflow_handle(journey_id).fetch_history_events():
        if history_event.HasField("start_child_workflow_execution_initiated_event_attributes"):
            attributes = history_event.start_child_workflow_execution_initiated_event_attributes
            assert attributes.workflow_type.name == "ScriptRunWorkflow"
            return attributes.workflow_id
    raise AssertionError(f"{journey_id} started no script run")


def twilio_settings(settings: Settings, twilio_url: str, **overrides) -> Settings:
    return configured(
        settings,
        twilio_account_sid="AC" + "7" * 32,
        twilio_auth_token="token",
        twilio_from_number="+14155550000",
        twilio_base_url=twilio_url,
        **overrides,
    )


async def test_phone_call_places_the_scripted_twiml(time_skipping_env, engine, settings):
    ingest(engine, contact("caller", phone="+14155550101", first_name="Ann") + contact("nophone"))
    flow = flow_from(
        {
            "id": "calls",
            "steps": [
                {
                    "id": "call",
                    "kind": "phone_call",
                    "script": [
                        {"action": "say", "text": "Hi {{ first_name | default('there') }}"},
                        {"action": "pause", "seconds": 1},
                        {"action": "dial", "number": "+14155550199"},
                        {"action": "hangup"},
                    ],
                }
            ],
        }
    )
    with FakeProvider(Reply(201, twilio_call())) as twilio:
        twilio.queue(Reply(503, {"code": 20503, "message": "busy", "status": 503}))
        options = twilio_settings(settings, twilio.url, voice_provider="twilio")
        async with journey_worker(time_skipping_env.client, engine, options) as router:
            called = await enroll_and_finish(time_skipping_env, router, engine, flow, "caller")
            skipped = await enroll_and_finish(time_skipping_env, router, engine, flow, "nophone")
    assert called.trail[0].outcome == "phone_call done"
    assert skipped.trail[0].outcome == "phone_call skipped: contact has no phone number"
    assert len(twilio.requests) == 2  # a 503, then the call: placed once
    assert {r.path for r in twilio.requests} == {
        f"/2010-04-01/Accounts/{'AC' + '7' * 32}/Calls.json"
    }
    assert twilio.requests[1].form()["Twiml"] == [
        '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hi Ann</Say><Pause length="1" />'
        "<Dial>+14155550199</Dial><Hangup /></Response>"
    ]
    with engine.connect() as conn:
        assert conn.execute(select(message_ledger.c.channel, message_ledger.c.status)).all() == [
            ("voice", "sent")
        ]


async def test_notify_team_by_email_and_sms(time_skipping_env, engine, settings):
    ingest(engine, contact("lead", email="lead@example.com", first_name="Lee"))
    flow = flow_from(
        {
            "id": "notify",
            "steps": [
                {
                    "id": "mail",
                    "kind": "notify_team",
                    "channel": "email",
                    "to": "sales@example.com",
                    "subject": "New lead: {{ first_name }}",
                    "message": "{{ email }} signed up",
                },
                {
                    "id": "text",
                    "kind": "notify_team",
                    "channel": "sms",
                    "to": "+1 415 555 0188",
                    "message": "Call {{ first_name }}",
                },
            ],
        }
    )
    with (
        FakeProvider(Reply(202, "", {"X-Message-Id": "sg-team"})) as sendgrid,
        FakeProvider(Reply(201, twilio_message())) as twilio,
    ):
        options = twilio_settings(
            settings,
            twilio.url,
            email_provider="sendgrid",
            sendgrid_api_key="SG.k",
            sendgrid_base_url=sendgrid.url,
            sms_provider="twilio",
        )
        async with journey_worker(time_skipping_env.client, engine, options) as router:
            state = await enroll_and_finish(time_skipping_env, router, engine, flow, "lead")
    assert [v.outcome for v in state.trail] == ["notify_team done", "notify_team done"]
    [mail] = sendgrid.requests
    assert mail.json()["subject"] == "New lead: Lee"
    assert mail.json()["personalizations"][0]["to"] == [{"email": "sales@example.com"}]
    assert mail.json()["content"][0]["value"] == "lead@example.com signed up"
    [sms] = twilio.requests
    assert (sms.form()["To"], sms.form()["Body"]) == (["+14155550188"], ["Call Lee"])
    with engine.connect() as conn:
        assert sorted(
            conn.execute(select(message_ledger.c.channel, message_ledger.c.status)).all()
        ) == [("team_email", "sent"), ("team_sms", "sent")]


async def test_notify_team_without_a_recipient_publishes_and_reaches_the_team_default(
    time_skipping_env, engine, settings
):
    ingest(engine, contact("lead2", email="lead2@example.com"))
    flow = flow_from(
        {
            "id": "notify-default",
            "steps": [
                {
                    "id": "mail",
                    "kind": "notify_team",
                    "subject": "New lead",
                    "message": "{{ email }}",
                }
            ],
        }
    )
    [warning] = validate_flow(flow)
    assert (warning.step_id, warning.field, warning.severity) == ("mail", "to", "warning")
    assert "DRIPSTONE_TEAM_EMAIL" in warning.message
    with FakeProvider(Reply(202, "", {"X-Message-Id": "sg-team"})) as sendgrid:
        options = settings.model_copy(
            update={
                "email_provider": "sendgrid",
                "sendgrid_api_key": "SG.k",
                "sendgrid_base_url": sendgrid.url,
                "team_email": "team@example.com",
            }
        )
        async with journey_worker(time_skipping_env.client, engine, options) as router:
            state = await enroll_and_finish(time_skipping_env, router, engine, flow, "lead2")
    assert [v.outcome for v in state.trail] == ["notify_team done"]
    [mail] = sendgrid.requests
    assert mail.json()["personalizations"][0]["to"] == [{"email": "team@example.com"}]


async def test_run_script_is_fire_and_forget(own_time_skipping_env, engine, settings):
    fake_scripts.RELEASE.clear()
    fake_scripts.STARTED.clear()
    ingest(engine, contact("scripted"))
    flow = flow_from(
        {
            "id": "scripts",
            "steps": [
                {
                    "id": "sync",
                    "kind": "run_script",
                    "script": "hold",
                    "arguments": {"plan": "pro"},
                },
                {"id": "after", "kind": "add_tag", "tag": "after-script"},
            ],
        }
    )
    client = own_time_skipping_env.client
    # Virtual time must not run while the script holds its activity: a skip would time
    # the attempt out and leave a retry behind that holds the shared server's clock.
    with own_time_skipping_env.auto_time_skipping_disabled():
        async with journey_worker(client, engine, configured(settings)) as router:
            journey_id = await start(router, engine, flow, "scripted")
            state = await client.get_workflow_handle(journey_id, result_type=JourneyState).result()
            # The journey is done while the script is still running.
            assert [v.outcome for v in state.trail] == [
                "script hold started",
                "contact.tag_added after-script",
            ]
            assert await asyncio.to_thread(fake_scripts.STARTED.wait, 10)
            handle = client.get_workflow_handle(
                await script_run_id(client, "journey/scripts/scripted"), result_type=ActionOutcome
            )
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
            assert stored(engine, "script.completed") == []
            fake_scripts.RELEASE.set()
            outcome = await handle.result()
    assert outcome.data["result"] == {"contact_id": "scripted", "released": True, "plan": "pro"}
    [completed] = stored(engine, "script.completed")
    assert completed == {
        "script": "hold",
        "flow_id": "scripts",
        "step_id": "sync",
        "result": {"contact_id": "scripted", "released": True, "plan": "pro"},
    }


async def test_unknown_script_fails_its_run_not_the_journey(
    own_time_skipping_env, engine, settings
):
    ingest(engine, contact("lost"))
    flow = flow_from(
        {
            "id": "no-script",
            "steps": [
                {"id": "sync", "kind": "run_script", "script": "nope"},
                {"id": "after", "kind": "add_tag", "tag": "after-script"},
            ],
        }
    )
    async with journey_worker(own_time_skipping_env.client, engine, configured(settings)) as router:
        state = await enroll_and_finish(own_time_skipping_env, router, engine, flow, "lost")
        run_id = await script_run_id(own_time_skipping_env.client, "journey/no-script/lost")
        with pytest.raises(WorkflowFailureError) as failed:
            await own_time_skipping_env.client.get_workflow_handle(run_id).result()
    assert (
        state.status == JourneyStatus.COMPLETED
        and state.trail[1].outcome == "contact.tag_added after-script"
    )
    assert failed.value.cause.type == "UnknownScript"
    [recorded] = stored(engine, "script.failed")
    assert recorded["script"] == "nope" and "unknown script 'nope'" in recorded["reason"]
