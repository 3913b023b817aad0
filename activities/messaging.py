"""send_email / send_sms activities: the delivery core (activities/delivery.py) finds
the address and screens opt-outs and caps; here the email is composed or the text
rendered, then the core delivers it exactly once. compose_email and render_templates
are shared with mailings and test sends."""

from dataclasses import replace

from sqlalchemy import Engine
from temporalio import activity

from activities.compose import (
    PREFERENCES_PLACEHOLDER,
    AttachmentFetcher,
    MessagingOptions,
    fetch_attachments,
    sent_details,
    template_data,
    unsubscribe_headers,
    with_footer,
)
from activities.delivery import ContactChannel, Delivered, Delivery, Skip, segments
from activities.heartbeat import heartbeating
from activities.pace import Pace
from activities.ports import EmailMessage, EmailSender, SmsMessage, SmsSender
from domain.conditions import ContactSnapshot
from domain.contracts.messaging import SendEmailRequest, SendOutcome, SendSmsRequest
from domain.locales import contact_locale, localize
from domain.merge_tags import (
    DEFAULT_MAX_CHARS,
    MergeTagError,
    contact_context,
    max_chars_for,
    render,
)
from domain.topics import topic_or_default


class MessagingActivities:
    """send_email and send_sms: the channel's own work (composing the email, rendering
    the text) around the delivery core's rules (activities/delivery.py)."""

    def __init__(
        self,
        engine: Engine,
        email: EmailSender,
        sms: SmsSender,
        default_from: str,
        options: MessagingOptions | None = None,
        pace: Pace | None = None,
        attachments: AttachmentFetcher | None = None,
    ):
        """`attachments`: downloads a send's attachments (a simulation describes them
        instead, touching no network)."""
        self.fetch_attachments = attachments or fetch_attachments
        self.email = email
        self.sms = sms
        self.default_from = default_from
        self.delivery = Delivery(engine, options, pace)
        self.options = self.delivery.options

    # A send heartbeats for its whole attempt (activities/heartbeat.py): its heartbeat
    # timeout notices a dead worker, never a slow lock or provider call.
    @activity.defn(name="send_email")
    def send_email(self, request: SendEmailRequest) -> SendOutcome:
        with heartbeating():
            return self._send_email(request)

    @activity.defn(name="send_sms")
    def send_sms(self, request: SendSmsRequest) -> SendOutcome:
        with heartbeating():
            return self._send_sms(request)

    def _send_email(self, request: SendEmailRequest) -> SendOutcome:
        reached = self._reach("email", request)
        if isinstance(reached, SendOutcome):
            return reached
        contact, to = reached
        tracking = {
            "flow_id": request.flow_id,
            "step_id": request.step_id,
            "journey_id": activity.info().workflow_id,
            "contact_id": contact.contact_id,
        }
        message = compose_email(
            contact,
            request,
            request.idempotency_key,
            tracking,
            self.default_from,
            self.options,
            to=to,
        )
        if isinstance(message, SendOutcome):
            return message
        # Attachments are fetched only once this attempt is known to send.
        prepare = (
            (
                lambda m: replace(
                    m,
                    attachments=self.fetch_attachments(
                        request.attachments, self.options.allow_private_targets
                    ),
                )
            )
            if request.attachments
            else None
        )
        return sent(
            self.delivery.deliver(
                self.email,
                "email",
                message,
                request.flow_id,
                request.step_id,
                send=self.email.send,
                prepare=prepare,
                sent_extra=self._said(request, contact),
            )
        )

    def _send_sms(self, request: SendSmsRequest) -> SendOutcome:
        reached = self._reach("sms", request)
        if isinstance(reached, SendOutcome):
            return reached
        contact, to = reached
        _, request = localize(request, request.locales, contact_locale(contact.attributes))
        rendered = render_templates(
            contact, request.text, max_chars=max_chars_for("send_sms", "text")
        )
        if isinstance(rendered, SendOutcome):
            return rendered
        [text] = rendered
        message = SmsMessage(
            idempotency_key=request.idempotency_key,
            contact_id=contact.contact_id,
            to=to,
            body=text,
            sender=request.sender,
        )
        outcome = sent(
            self.delivery.deliver(
                self.sms,
                "sms",
                message,
                request.flow_id,
                request.step_id,
                send=self.sms.send,
                sent_extra=self._said(request, contact),
            )
        )
        return outcome.model_copy(update=segments(text))

    def _said(self, request: SendEmailRequest | SendSmsRequest, contact: ContactSnapshot) -> dict:
        """What message.sent says besides the address: transactional, topic, locale and
        an experiment step's variant (activities/compose.py sent_details)."""
        with self.delivery.engine.connect() as conn:
            return {**_marked(request), **sent_details(conn, request, contact.attributes)}

    def _reach(
        self,
        channel: ContactChannel,
        request: SendEmailRequest | SendSmsRequest,
    ) -> tuple[ContactSnapshot, str] | SendOutcome:
        """The contact and their address, or why the message is skipped (no address,
        opted out, over the cap): the delivery core's rules, before anything is composed.
        A retry of a message already sent says so first, whatever screening says now."""
        if earlier := self.delivery.sent_before(request.idempotency_key):
            return sent(earlier)
        contact = self.delivery.contact(request.contact_id)
        to = self.delivery.address(channel, contact)
        if isinstance(to, Skip):
            return skipped(to)
        if skip := self.delivery.screen(
            channel,
            contact,
            to,
            request.idempotency_key,
            transactional=request.transactional,
            topic=request.topic,
        ):
            return skipped(skip)
        return contact, to


def skipped(skip: Skip) -> SendOutcome:
    return SendOutcome(status="skipped", reason=skip.reason, reason_code=skip.reason_code)


def sent(delivered: Delivered) -> SendOutcome:
    return SendOutcome(
        status="sent",
        provider_message_id=delivered.provider_message_id,
        duplicate=delivered.duplicate,
    )


def _marked(request: SendEmailRequest | SendSmsRequest) -> dict:
    """What message.sent says of a transactional send (frequency caps leave it out)."""
    return {"transactional": True} if request.transactional else {}


def compose_email(
    contact: ContactSnapshot,
    request: SendEmailRequest,
    key: str,
    tracking: dict[str, str],
    default_from: str,
    options: MessagingOptions,
    to: str | None = None,
) -> EmailMessage | SendOutcome:
    """The message for one contact, without attachments (fetched at delivery). A missing
    merge value skips it with the reason rather than sending a placeholder. With
    preference links, a marketing email carries its contact's preference page (a footer,
    and {{ preferences_url }}) and a one-click unsubscribe from its topic. The content is the variant for the
    contact's locale, if the step has one (domain/locales.py)."""
    _, request = localize(request, request.locales, contact_locale(contact.attributes))
    context = _context(contact)
    links, marketing = options.links, not request.transactional
    if links is not None:
        context["preferences_url"] = links.page_url(contact.contact_id)
    one_click = (
        links.unsubscribe_url(contact.contact_id, topic_or_default(request.topic))
        if links is not None and marketing
        else None
    )
    try:
        subject = (
            render(request.subject, context, max_chars=max_chars_for("send_email", "subject"))
            if request.subject
            else ""
        )
        body = (
            render(request.body, context, max_chars=max_chars_for("send_email", "body"))
            if request.body
            else ""
        )
        headers = unsubscribe_headers(options, {**context, "message_key": key}, one_click)
    except MergeTagError as exc:
        return SendOutcome(status="skipped", reason=str(exc), reason_code="merge_value")
    if links is not None and marketing and not request.template_id:
        body = with_footer(body, context["preferences_url"])
    return EmailMessage(
        idempotency_key=key,
        contact_id=contact.contact_id,
        to=to or contact.email,
        from_email=request.from_email or default_from,
        subject=subject,
        body=body,
        tracking=tracking,
        template_id=request.template_id,
        template_data=template_data(context, subject) if request.template_id else {},
        headers=headers,
        reply_to=request.reply_to,
        substitutions={PREFERENCES_PLACEHOLDER: context["preferences_url"]}
        if links is not None and not request.template_id
        else {},
    )


def _context(contact: ContactSnapshot) -> dict:
    return contact_context(contact.contact_id, contact.email, contact.phone, contact.attributes)


def render_templates(
    contact: ContactSnapshot, *templates: str, max_chars: int = DEFAULT_MAX_CHARS
) -> list[str] | SendOutcome:
    """Render every template or none, each to at most `max_chars` (see
    merge_tags.max_chars_for): a missing merge value, or too much text, skips the whole
    message (with the reason) rather than sending a placeholder."""
    try:
        return [render(template, _context(contact), max_chars=max_chars) for template in templates]
    except MergeTagError as exc:
        return SendOutcome(status="skipped", reason=str(exc), reason_code="merge_value")
