"""The simulation's outbox: every port a journey can reach the world through, replaced by
a recorder writing to the throwaway database's outbox table. Email, SMS, calls and team
notifications already have such an adapter (the embedded outbox); webhooks and scripts
get one here. Attachments are described, never
downloaded. The activities themselves are production's, built by worker.py."""

import json
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client

from activities.compose import MessagingOptions
from activities.outbox import Outbox
from activities.ports import EmailAttachment, EmailMessage
from activities.voice_port import OutboxVoice
from activities.webhooks import IDEMPOTENCY_HEADER, WebhookActivities
from domain.flow import Flow
from domain.steps.contact_changes import RunScript
from domain.steps.messaging import Attachment, Webhook
from settings import Settings
from worker import activities_for

# Carries the contact from _headers to _send inside one activity call; never sent.
_CONTACT_HEADER = "X-Simulated-Contact"


@dataclass(frozen=True)
class RecordedCall:
    """A webhook request or script run, shaped like a message for the outbox."""

    idempotency_key: str
    contact_id: str
    to: str
    body: str
    subject: str | None = None


class SimulatedWebhooks(WebhookActivities):
    """call_webhook exactly as production runs it (rendering, headers, the
    webhook.responded event conditions read), except that the request is recorded
    instead of sent, and answered 200 with an empty body."""

    def __init__(self, engine: Engine):
        super().__init__(engine, signing_secret=None, allow_private_targets=True)
        self._outbox = Outbox(engine, "webhook")

    def _headers(self, request, step_headers: dict[str, str], body: str) -> dict:
        return {
            **super()._headers(request, step_headers, body),
            _CONTACT_HEADER: request.contact_id,
        }

    def _send(self, step: Webhook, url: str, headers: dict, body: bytes) -> tuple[int, str, bool]:
        contact_id = headers.pop(_CONTACT_HEADER)
        self._outbox.send(
            RecordedCall(
                idempotency_key=headers[IDEMPOTENCY_HEADER],
                contact_id=contact_id,
                to=url,
                subject=f"{step.method} {url}",
                body=body.decode("utf-8", "replace"),
            )
        )
        return 200, "", False


def described_attachments(
    attachments: list[Attachment], _allow_private: bool
) -> tuple[EmailAttachment, ...]:
    """A simulated send's attachments, named but never downloaded: a simulation touches
    no network, and the file's bytes change nothing in what the journey does."""
    return tuple(EmailAttachment(item.filename, item.content_type, b"") for item in attachments)


class SimulatedEmail(Outbox):
    """The email outbox, noting each attachment under the body (the outbox keeps no
    files), so the timeline shows what would have been attached."""

    def __init__(self, engine: Engine):
        super().__init__(engine, "email")

    def send(self, message: EmailMessage) -> str | None:  # type: ignore[override]
        notes = [
            f"[attachment {a.filename} ({a.content_type}): described, not fetched in "
            "a simulation]"
            for a in message.attachments
        ]
        if notes:
            message = replace(message, body="\n".join([message.body, *notes]))
        return super().send(message)


def recorded_scripts(engine: Engine, flows: list[Flow]) -> dict[str, Any]:
    """Every script the flows name, as a recorder: the run is noted, nothing runs."""
    outbox = Outbox(engine, "script")

    def recorder(name: str):
        def record(contact_id: str, arguments: dict[str, Any]) -> dict[str, Any]:
            shown = {k: v for k, v in arguments.items() if not k.startswith("_")}
            outbox.send(
                RecordedCall(
                    idempotency_key=arguments["_idempotency_key"],
                    contact_id=contact_id,
                    to=name,
                    subject=f"script {name}",
                    body=json.dumps(shown, default=str),
                )
            )
            return {"simulated": True}

        return record

    names = {step.script for flow in flows for step in flow.steps if isinstance(step, RunScript)}
    return {name: recorder(name) for name in names}


def simulation_activities(
    settings: Settings, engine: Engine, client: Client, flows: list[Flow]
) -> list:
    """worker.py's activity list with every outward port swapped for a recorder. The
    preference links are the test sends' inert ones: a simulated email is read by whoever
    runs the simulation, and a real link would hand them the contact's preferences."""
    options = MessagingOptions.from_settings(settings)
    if options.links is not None:
        options = replace(options, links=options.links.for_test_sends())
    return activities_for(
        settings,
        engine,
        client,
        options=options,
        email=SimulatedEmail(engine),
        sms=Outbox(engine, "sms"),
        voice=OutboxVoice(engine),
        webhooks=SimulatedWebhooks(engine),
        scripts=recorded_scripts(engine, flows),
        attachments=described_attachments,
    )
