"""SendGrid adapter for the email port, through the official sendgrid SDK."""

import base64
from collections.abc import Callable

from python_http_client import exceptions as http_errors
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Attachment,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    From,
    Header,
    Mail,
    Personalization,
    PlainTextContent,
    ReplyTo,
    Substitution,
    TemplateId,
    To,
)

from activities.ports import BatchOutcome, EmailMessage, ProviderRejected, ProviderUnavailable

_TIMEOUT_SECONDS = 15


class SendGridEmail:
    name = "sendgrid"

    def __init__(self, api_key: str, base_url: str):
        self.client = SendGridAPIClient(api_key=api_key, host=base_url)
        # The SDK has no timeout by default; a hung provider must not hold an activity slot.
        self.client.client.timeout = _TIMEOUT_SECONDS

    def send(self, message: EmailMessage) -> str | None:
        return self._post(build_mail(message))

    # SendGrid takes up to 1,000 personalizations in one request.
    batch_size = 1000

    def send_many(
        self,
        messages: list[EmailMessage],
        before: Callable[[int], object] = lambda permits: None,
        after: Callable[[list[EmailMessage], BatchOutcome], object] = lambda *a: None,
    ) -> BatchOutcome:
        """Messages that share sender, reply-to and content (the same template, or the
        same rendered body: subjects, headers and template data are per recipient) go
        in one request each, as personalizations; custom_args per personalization keep
        every event attributed to its own message. A provider that stops answering ends
        the call with what went out. `before(n)` is called ahead of each request of n
        messages (the shared pace), `after(part, outcome)` once it was answered."""
        outcome = BatchOutcome()
        groups: dict[tuple, list[EmailMessage]] = {}
        for message in messages:
            shared = (
                message.from_email,
                message.reply_to,
                message.template_id,
                None if message.template_id else message.shared_body(),
                bool(message.attachments),
            )
            groups.setdefault(shared, []).append(message)
        for group in groups.values():
            # Attachments are per message (journeys' test sends): one request each.
            size = 1 if group[0].attachments else self.batch_size
            for start in range(0, len(group), size):
                if not self._request(group[start : start + size], before, after, outcome):
                    return outcome
        return outcome

    def _request(self, part: list[EmailMessage], before, after, outcome: BatchOutcome) -> bool:
        """One request; False when the provider stopped answering."""
        before(len(part))
        try:
            provider_id = self._post(build_mail(part[0]) if len(part) == 1 else build_batch(part))
        except ProviderRejected as exc:
            if len(part) == 1:
                outcome.rejected[part[0].idempotency_key] = str(exc)
                after(part, outcome)
                return True
            # One bad address refuses the whole request: send each alone to find it.
            return all(self._request([message], before, after, outcome) for message in part)
        except ProviderUnavailable as exc:
            outcome.unavailable = exc
            return False
        outcome.sent.update({m.idempotency_key: provider_id for m in part})
        after(part, outcome)
        return True

    def _post(self, mail: Mail) -> str | None:
        try:
            response = self.client.send(mail)
        except http_errors.HTTPError as exc:
            raise _translate(exc) from None
        except (TimeoutError, OSError) as exc:
            raise ProviderUnavailable(self.name, f"network error: {exc}") from None
        return response.headers.get("X-Message-Id")

    def find_sent(self, idempotency_key: str) -> tuple[bool, str | None]:
        # SendGrid offers no lookup by our key without the paid activity feed.
        return False, None


def build_mail(message: EmailMessage) -> Mail:
    if message.template_id:
        # A dynamic template renders subject and body itself, from template_data.
        mail = Mail(from_email=message.from_email, to_emails=message.to)
        mail.template_id = TemplateId(message.template_id)
        mail.dynamic_template_data = message.template_data
    else:
        mail = Mail(
            from_email=message.from_email,
            to_emails=message.to,
            subject=message.subject,
            plain_text_content=message.body,
        )
    # custom_args come back on every event of the message (open, click, bounce...), which
    # is how the event webhook attributes them to the journey, step and contact.
    for key, value in {**message.tracking, "idempotency_key": message.idempotency_key}.items():
        mail.add_custom_arg(CustomArg(key=key, value=value))
    for name, value in message.headers.items():
        mail.add_header(Header(name, value))
    if message.reply_to:
        mail.reply_to = ReplyTo(message.reply_to)
    for item in message.attachments:
        mail.add_attachment(
            Attachment(
                FileContent(base64.b64encode(item.content).decode("ascii")),
                FileName(item.filename),
                FileType(item.content_type),
                Disposition("attachment"),
            )
        )
    return mail


def build_batch(messages: list[EmailMessage]) -> Mail:
    """One request for messages sharing sender, reply-to and content (see send_many)."""
    first = messages[0]
    mail = Mail()
    mail.from_email = From(first.from_email)
    if first.template_id:
        mail.template_id = TemplateId(first.template_id)
    else:
        mail.add_content(PlainTextContent(first.shared_body()))
    if first.reply_to:
        mail.reply_to = ReplyTo(first.reply_to)
    for index, message in enumerate(messages):
        person = Personalization()
        person.add_to(To(message.to))
        if message.template_id:
            person.dynamic_template_data = message.template_data
        else:
            person.subject = message.subject
        for key, value in {**message.tracking, "idempotency_key": message.idempotency_key}.items():
            person.add_custom_arg(CustomArg(key=key, value=value))
        for name, value in message.headers.items():
            person.add_header(Header(name, value))
        if not message.template_id:
            for placeholder, value in message.substitutions.items():
                person.add_substitution(Substitution(placeholder, value))
        mail.add_personalization(person, index=index)  # the SDK inserts at 0 by default
    return mail


def _translate(exc: "http_errors.HTTPError") -> Exception:
    status = exc.status_code
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body)
    if status in (408, 429) or status >= 500:
        retry_after = exc.headers.get("Retry-After") if exc.headers else None
        return ProviderUnavailable(
            "sendgrid",
            f"HTTP {status}: {body[:300]}",
            float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    return ProviderRejected("sendgrid", status, body[:500])
