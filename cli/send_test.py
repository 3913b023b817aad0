"""`dripstone flow test-send FLOW STEP --to ADDRESS [--contact ID]`: send one step's
email or SMS, or place its phone call, to an address the user gives, through the
configured provider.

A test send is not a journey's message: it takes no ledger entry and appends no event,
its subject says [Test], and its custom_args carry test_send=true so the provider's
webhooks about it (opens, clicks) are ignored rather than credited to a contact. Its
preference and one-click links are inert placeholders (PreferenceLinks.for_test_sends),
with or without --contact."""

import re
import uuid
from dataclasses import replace
from typing import Annotated

import typer

from cli.output import console, fail

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def send_test(
    flow_id: Annotated[str, typer.Argument(help="The flow's id")],
    step_id: Annotated[str, typer.Argument(help="A send_email or send_sms step of the flow")],
    to: Annotated[str, typer.Option("--to", help="Email address or phone number to send to")],
    contact: Annotated[
        str | None,
        typer.Option(
            "--contact", help="Fill merge tags from this contact (default: only tag defaults)"
        ),
    ] = None,
    draft: Annotated[
        bool, typer.Option("--draft", help="Use the saved draft, not the live version")
    ] = False,
    locale: Annotated[
        str | None,
        typer.Option(
            "--locale",
            help="Send the variant this locale gets, e.g. pt-BR (falls back to pt, "
            "then the default); default: the --contact's locale attribute",
        ),
    ] = None,
) -> None:
    """Send one step's message to an address you give, to see it as a contact would."""
    from activities.compose import MessagingOptions
    from domain.conditions import ContactSnapshot
    from domain.locales import LOCALE_ATTRIBUTE, canonical, choose, contact_locale, tag_problem
    from domain.steps.messaging import PhoneCall, SendEmail, SendSms
    from projections.contacts import load_snapshot
    from projections.database import open_checked
    from settings import Settings

    if locale is not None and (why := tag_problem(locale)) is not None:
        fail(f"--locale: {why}")
    settings = Settings()
    engine = open_checked(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            step = _find_step(conn, flow_id, step_id, draft, settings.webhook_allow_private_targets)
            snapshot = ContactSnapshot(contact_id=contact or "test-contact")
            if contact:
                snapshot = load_snapshot(conn, contact, {"attributes"})
                if snapshot is None:
                    fail(f"--contact: no contact {contact!r} is known")
            if locale is not None:
                # The test send composes exactly as the contact's would, in this locale.
                snapshot = snapshot.model_copy(
                    update={
                        "attributes": {**snapshot.attributes, LOCALE_ATTRIBUTE: canonical(locale)}
                    }
                )
        options = MessagingOptions.from_settings(settings)
        if options.links is not None:
            # The message goes to an address the user typed, not to the contact: a real
            # link there would hand that contact's preferences to whoever reads it, and
            # without --contact there is no contact. The links look real and change nothing.
            options = replace(options, links=options.links.for_test_sends())
        key = f"test-send/{flow_id}/{step_id}/{uuid.uuid4()}"
        if isinstance(step, SendEmail):
            provider, message_id = _email(
                settings, engine, options, flow_id, step, snapshot, key, to
            )
        elif isinstance(step, SendSms):
            provider, message_id = _sms(settings, engine, options, flow_id, step, snapshot, key, to)
        elif isinstance(step, PhoneCall):
            provider, message_id = _call(settings, engine, step, to, contact, locale)
        else:
            article = "an" if step.kind[0] in "aeiou" else "a"
            fail(
                f"step {step_id!r} is {article} {step.kind} step; only send_email, send_sms and "
                "phone_call steps can be tested"
            )
    finally:
        engine.dispose()
    wanted = contact_locale(snapshot.attributes)
    if wanted is not None or getattr(step, "locales", None):
        chosen = choose(getattr(step, "locales", {}), wanted)
        console.print(
            f"locale {wanted or '(none)'}: "
            + (f"variant {chosen}" if chosen else "the default content")
        )
    console.print(
        f"test {step.kind.removeprefix('send_').replace('phone_', '')} of {flow_id}/{step_id} sent to {to} "
        f"via {provider}" + (f" (message id {message_id})" if message_id else "")
    )


def _call(
    settings, engine, step, to: str, contact: str | None, locale: str | None
) -> tuple[str, str | None]:
    """A test call: the step's TwiML, rung now on the number given [000]."""
    from activities.compose import MessagingOptions
    from activities.delivery import Delivery
    from activities.voice import place_test_call, voice_caller

    # The delivery core's address rules, as for the step's real calls (default region).
    delivery = Delivery(engine, MessagingOptions.from_settings(settings))
    try:
        sid = place_test_call(
            delivery, voice_caller(settings, engine), step, to, contact, locale=locale
        )
    except ValueError as exc:
        fail(str(exc))
    return settings.voice_provider, sid


def _find_step(conn, flow_id: str, step_id: str, draft: bool, allow_private_targets: bool):
    from domain.validation import parse_flow
    from projections.flow_catalogue import CatalogueError, get_flow, latest_version

    try:
        record = get_flow(conn, flow_id)
    except CatalogueError as exc:
        fail(str(exc))
    if draft:
        if record.draft is None:
            fail(f"flow {flow_id!r} has no unpublished draft")
        flow, problems = parse_flow(record.draft, allow_private_targets=allow_private_targets)
        if flow is None:
            fail(f"the draft of {flow_id!r} does not parse: " + "; ".join(map(str, problems)))
    else:
        flow = latest_version(conn, flow_id)
        if flow is None:
            fail(f"flow {flow_id!r} has no published version yet; test its draft with --draft")
    for step in flow.steps:
        if step.id == step_id:
            return step
    fail(
        f"flow {flow_id!r} has no step {step_id!r}; its steps: "
        + ", ".join(step.id for step in flow.steps)
    )


def _email(settings, engine, options, flow_id, step, contact, key, to):
    from activities.compose import fetch_attachments
    from activities.messaging import compose_email
    from domain.contracts.messaging import SendEmailRequest, SendOutcome
    from worker import email_sender

    if not _EMAIL.match(to):
        fail(f"--to: {to!r} is not an email address")
    request = SendEmailRequest.for_step(step, key, flow_id, contact.contact_id)
    tracking = {"flow_id": flow_id, "step_id": step.id, "test_send": "true"}
    message = compose_email(contact, request, key, tracking, settings.email_from, options, to=to)
    if isinstance(message, SendOutcome):
        fail(f"not sent: {message.reason}")
    message = replace(message, subject=f"[Test] {message.subject}" if message.subject else "")
    if step.attachments:
        message = replace(
            message,
            attachments=_provider_call(
                fetch_attachments, step.attachments, options.allow_private_targets
            ),
        )
    sender = email_sender(settings, engine)
    return sender.name, _provider_call(sender.send, message)


def _sms(settings, engine, options, flow_id, step, contact, key, to):
    from activities.messaging import render_templates
    from activities.phones import to_e164
    from activities.ports import SmsMessage
    from domain import sms as sms_text
    from domain.contracts.messaging import SendOutcome
    from domain.locales import contact_locale, localize
    from domain.merge_tags import max_chars_for
    from worker import sms_sender

    number = to_e164(to, options.phone_default_region)
    if number is None:
        fail(f"--to: {to!r} is not a valid phone number (E.164, e.g. +14155550101)")
    _, step = localize(step, step.locales, contact_locale(contact.attributes))
    rendered = render_templates(contact, step.text, max_chars=max_chars_for("send_sms", "text"))
    if isinstance(rendered, SendOutcome):
        fail(f"not sent: {rendered.reason}")
    [text] = rendered
    console.print(f"{sms_text.segments(text)} segment(s), {sms_text.encoding(text)}")
    sender = sms_sender(settings, engine)
    message = SmsMessage(
        idempotency_key=key, contact_id=contact.contact_id, to=number, body=text, sender=step.sender
    )
    return sender.name, _provider_call(sender.send, message)


def _provider_call(function, *args):
    from temporalio.exceptions import ApplicationError

    from activities.ports import ProviderRejected, ProviderUnavailable

    try:
        return function(*args)
    except (ProviderRejected, ProviderUnavailable) as exc:
        fail(str(exc))
    except ApplicationError as exc:  # an attachment that cannot be fetched or is too large
        fail(exc.message)
