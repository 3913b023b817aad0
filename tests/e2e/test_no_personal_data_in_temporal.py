"""No personal data in plain text in Temporal: journeys whose contacts have emails,
phones and form fields, and a mailing to some of them, run on a dev server of this test's own, then the server's SQLite
files are searched for every one of those values: zero matches. That includes a step
that fails with the contact's data in its message (a webhook refusing the request and
quoting it back), since failures are encoded too. The same journey read through the
API's codec endpoint, with a codec key, shows them."""

import base64
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from codec.converter import data_converter
from domain.journey import JourneyState
from projections.flow_catalogue import publish
from settings import Settings
from tests.conftest import _tool
from tests.fakes.provider_http import RecordedRequest
from tests.fakes.webhook_target import Answer, WebhookTarget
from tests.journey_harness import contact, event, flow_from, journey_worker, send
from tests.workflows.live_journeys import at_step
from workflows import search_attributes as sa

pytestmark = pytest.mark.devserver


def pii_flow(crm_url: str):
    return flow_from(
        {
            "id": "pii-drip",
            "steps": [
                {
                    "id": "hello",
                    "kind": "send_email",
                    "subject": "Hi {{ first_name }}",
                    "body": "Your code is {{ secret_code }}",
                },
                {"id": "text", "kind": "send_sms", "text": "Hi {{ first_name }}, welcome"},
                {
                    "id": "reply",
                    "kind": "wait_for_event",
                    "event": "contact.updated",
                    "timeout": "1h",
                },
                # Refused with a 400 that quotes the request: the step fails with the contact's
                # (new) email and phone in the failure message Temporal records.
                {
                    "id": "crm",
                    "kind": "webhook",
                    "url": crm_url,
                    "timeout_seconds": 10,
                    "body": '{"email": {{ email | tojson }}, "phone": {{ phone | tojson }}}',
                },
                {
                    "id": "again",
                    "kind": "send_email",
                    "subject": "Bye {{ first_name }}",
                    "body": ".",
                },
            ],
        }
    )


async def _send_mailing(env, engine, settings, crowd):
    from domain.mailing import Mailing
    from domain.mailing_runs import MailingProgress
    from projections import mailings as catalogue
    from routing import mailings as lifecycle

    document = {
        "id": "pii-mailing",
        "audience": {
            "condition": {
                "kind": "attribute",
                "field": "secret_code",
                "op": "in",
                "value": [person["code"] for person in crowd[:3]],
            }
        },
        "steps": [
            {
                "id": "main",
                "channel": "email",
                "subject": "Hi {{ first_name }}",
                "body": "Your code: {{ secret_code }}",
            }
        ],
    }
    with engine.begin() as conn:
        catalogue.save(conn, Mailing.model_validate(document), document)
    await lifecycle.send(env.client, engine, "pii-mailing", task_queue=settings.task_queue)
    return await env.client.get_workflow_handle(
        "mailing/pii-mailing", result_type=MailingProgress
    ).result()


class QuotingCrm(WebhookTarget):
    """A receiver that refuses every request, quoting it back, as CRMs and provider APIs
    do ("Invalid 'To' Phone Number +1...", "unknown subscriber ...")."""

    def _next(self, request: RecordedRequest) -> Answer:
        super()._next(request)
        return Answer(400, {"error": f"unknown subscriber: {request.body.decode()}"})


def people(count: int) -> list[dict]:
    return [
        {
            "id": f"pii-{n}",
            "email": f"person{n}.{uuid.uuid4().hex[:6]}@example.com",
            "new_email": f"moved{n}.{uuid.uuid4().hex[:6]}@example.org",
            "phone": f"+1415555{n:04d}",
            "first_name": f"Firstname{uuid.uuid4().hex[:8]}",
            "field": f"street {uuid.uuid4().hex[:10]}",
            "code": f"code-{uuid.uuid4().hex[:10]}",
        }
        for n in range(count)
    ]


async def test_journeys_leave_no_personal_data_in_the_temporal_database(engine, settings, tmp_path):
    database = tmp_path / "temporal.db"
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(Settings()),
        dev_server_existing_path=_tool("DRIPSTONE_TEMPORAL_BIN"),
        dev_server_database_filename=str(database),
        search_attributes=sa.ALL,
        dev_server_log_level="error",
        dev_server_startup_timeout=timedelta(seconds=60),
    )
    crowd = people(6)
    # The receiver is on loopback, so this deployment allows private webhook targets.
    settings = settings.model_copy(update={"webhook_allow_private_targets": True})
    try:
        with QuotingCrm() as crm:
            async with journey_worker(env.client, engine, settings) as router:
                for person in crowd:
                    profile = contact(
                        person["id"],
                        email=person["email"],
                        phone=person["phone"],
                        first_name=person["first_name"],
                        secret_code=person["code"],
                    )
                    await send(router, engine, *profile)
                with engine.begin() as conn:
                    # Its merge tags name fields the contacts have now.
                    publish(conn, pii_flow(f"{crm.url}/subscribers"), allow_private_targets=True)
                for person in crowd:
                    await send(
                        router,
                        engine,
                        event(
                            person["id"],
                            "form.submitted",
                            {
                                "form_id": "signup",
                                "fields": {"street": person["field"], "email": person["email"]},
                            },
                        ),
                    )
                for person in crowd:
                    # A contact update reaches the waiting journey as a signal (once it
                    # waits: an event before the wait starts is not what it waits for).
                    await at_step(env, f"journey/pii-drip/{person['id']}", "reply")
                    await send(
                        router,
                        engine,
                        event(person["id"], "contact.updated", {"email": person["new_email"]}),
                    )
                for person in crowd:
                    handle = env.client.get_workflow_handle(
                        f"journey/pii-drip/{person['id']}", result_type=JourneyState
                    )
                    state = await handle.result()
                    assert state.trail[-1].outcome == "email sent", state.trail
                    [refused] = [v for v in state.trail if v.outcome.startswith("webhook failed")]
                    assert person["new_email"] in refused.outcome  # the journey reads it
                # A mailing whose audience names personal values (secret codes) and whose
                # messages carry them: its workflow holds ids and counts only.
                progress = await _send_mailing(env, engine, settings, crowd)
                assert progress.totals["main"].sent == 3
            assert len(crm.requests) == len(crowd)
        first = f"journey/pii-drip/{crowd[0]['id']}"
        raw_client = await Client.connect(
            env.client.service_client.config.target_host, namespace=env.client.namespace
        )
        history = await raw_client.get_workflow_handle(first).fetch_history()
    finally:
        await env.shutdown()

    stored = b"".join(path.read_bytes() for path in Path(tmp_path).glob("temporal.db*"))
    assert len(stored) > 100_000, "the dev server wrote no database"
    secrets = [value for person in crowd for key, value in person.items() if key != "id"]
    found = [value for value in secrets if value.encode() in stored]
    assert found == [], f"{len(found)} of {len(secrets)} personal values in plain text"

    # Authorised ops read them through the codec endpoint (what the Web UI calls).
    encrypted = [payload for e in history.events for payload in _payloads_of(e)]
    assert encrypted and all(p.metadata["encoding"] == b"binary/encrypted" for p in encrypted)
    failures = [
        e.activity_task_failed_event_attributes.failure
        for e in history.events
        if e.HasField("activity_task_failed_event_attributes")
    ]
    assert failures and all(f.message == "Encoded failure" for f in failures)
    encoded = [f.encoded_attributes for f in failures]
    assert all(p.metadata["encoding"] == b"binary/encrypted" for p in encoded)
    # The codec takes its own keys: not the /v1 key a service sends events with.
    app = create_app(
        settings.model_copy(update={"api_keys": ["service-key"], "codec_api_keys": ["ops-key"]}),
        engine,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
        body = json_format.MessageToDict(Payloads(payloads=encrypted + encoded))
        refused = await api.post("/codec/decode", json=body)
        service = await api.post(
            "/codec/decode", json=body, headers={"Authorization": "Bearer service-key"}
        )
        decoded = await api.post(
            "/codec/decode", json=body, headers={"Authorization": "Bearer ops-key"}
        )
    assert refused.status_code == 401 and service.status_code == 403
    assert decoded.status_code == 200
    plain = b"".join(base64.b64decode(p.get("data", "")) for p in decoded.json()["payloads"])
    # Journeys are sent ids, not the event's payload (routing.heard.for_journey), so the
    # form fields never reach Temporal at all; what does (a failure quoting the contact's
    # address) reads in plain text through the codec, for ops with a codec key.
    assert crowd[0]["field"].encode() not in plain
    assert b"unknown subscriber" in plain and crowd[0]["new_email"].encode() in plain


def _payloads_of(history_event) -> list:
    """Input and signal payloads of a history event, where it has them."""
    for attribute in (
        "workflow_execution_started_event_attributes",
        "workflow_execution_signaled_event_attributes",
    ):
        if history_event.HasField(attribute):
            return list(getattr(history_event, attribute).input.payloads)
    return []
