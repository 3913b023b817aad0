"""A contact leaves a topic through the real preference page (the FastAPI app over
HTTP, reached by the link their email carried), and the next marketing email of that
topic is skipped with the reason while a transactional one still goes out. Email goes
through the real SendGrid adapter, its HTTP API faked on loopback."""

import re

import httpx
from cryptography.fernet import Fernet

from api.app import create_app
from domain.journey import JourneyStatus
from projections.event_store import ingest
from projections.flow_catalogue import publish
from settings import Settings
from tests.fakes.provider_http import FakeProvider, Reply
from tests.journey_harness import contact, event, flow_from, journey_result, journey_worker, send

PUBLIC = "https://mail.example.com"


def _flow(flow_id: str, form_id: str, **extra) -> dict:
    return flow_from(
        {
            "id": flow_id,
            "re_entry": "always",
            "trigger": {
                "event": "form.submitted",
                "where": [{"path": "form_id", "value": form_id}],
            },
            "steps": [
                {
                    "id": "mail",
                    "kind": "send_email",
                    "topic": "newsletter",
                    "subject": f"{flow_id} for {{{{ first_name }}}}",
                    "body": "Hello.",
                }
            ],
            **extra,
        }
    )


def _settings(settings: Settings, sendgrid_url: str) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=settings.data_dir,
        task_queue=settings.task_queue,
        email_provider="sendgrid",
        sendgrid_api_key="SG.key",
        sendgrid_base_url=sendgrid_url,
        preference_base_url=PUBLIC,
        preference_link_key=Fernet.generate_key().decode(),
    )


async def _run(env, router, engine, flow_id: str, form_id: str):
    routed = await send(router, engine, event("ann", "form.submitted", {"form_id": form_id}))
    [enrolled] = [r for r in routed if r.flow_id == flow_id and r.outcome == "enrolled"]
    return await journey_result(env, enrolled.workflow_id)


def _mail(request) -> tuple[str, dict[str, str]]:
    body = request.json()
    return body["content"][0]["value"], body.get("headers", {})


async def test_opting_out_on_the_preference_page_skips_the_topic_but_not_receipts(
    time_skipping_env, engine, settings
):
    ingest(engine, contact("ann", email="ann@example.com", first_name="Ann"))
    with engine.begin() as conn:
        publish(conn, _flow("news", "news"))
        publish(conn, _flow("receipt", "receipt", transactional=True))
    with FakeProvider(Reply(202, "", {"X-Message-Id": "sg-1"})) as sendgrid:
        configured = _settings(settings, sendgrid.url)
        app = create_app(configured, engine, time_skipping_env.client)
        async with (
            journey_worker(time_skipping_env.client, engine, configured) as router,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC) as browser,
        ):
            first = await _run(time_skipping_env, router, engine, "news", "news")
            assert first.trail[0].outcome == "email sent"
            text, headers = _mail(sendgrid.requests[0])
            # The footer links the contact's page; the headers offer one-click (RFC 8058).
            [page] = re.findall(rf"{PUBLIC}(/preferences/\S+)", text)
            assert re.fullmatch(rf"<{PUBLIC}/unsubscribe/[\w=-]+>", headers["List-Unsubscribe"])
            assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert "ann" not in page and "example.com" not in page

            shown = await browser.get(page)
            assert shown.status_code == 200
            assert 'name="email:newsletter" id="email-newsletter"' in shown.text
            assert re.search(r'id="email-newsletter"[^>]*checked', shown.text)
            # Submitted as a browser submits the form: every box but the newsletter by email.
            kept = {
                "email:general": "on",
                "email:reminders": "on",
                "sms:newsletter": "on",
                "shown": re.findall(r'name="shown" value="([^"]+)"', shown.text),
                "action": "save",
            }
            saved = await browser.post(page, data=kept)
            assert saved.status_code == 200 and "Your choices are saved." in saved.text
            assert not re.search(r'id="email-newsletter"[^>]*checked', saved.text)

            second = await _run(time_skipping_env, router, engine, "news", "news")
            receipt = await _run(time_skipping_env, router, engine, "receipt", "receipt")
    assert second.status == JourneyStatus.COMPLETED
    assert second.trail[0].outcome == (
        "email skipped: contact opted out of topic " "'newsletter' on email"
    )
    assert receipt.trail[0].outcome == "email sent"
    assert [r.json()["subject"] for r in sendgrid.requests] == ["news for Ann", "receipt for Ann"]
    # A receipt offers no unsubscribe from what cannot be unsubscribed from.
    text, headers = _mail(sendgrid.requests[1])
    assert "List-Unsubscribe" not in headers and "/preferences/" not in text
