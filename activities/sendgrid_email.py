"""SendGrid adapter for the email port, through the official sendgrid SDK."""

import base64

from python_http_client import exceptions as http_errors
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Attachment, CustomArg, Disposition, FileContent, FileName, FileType, Header, Mail,
    ReplyTo, TemplateId,
)

from activities.ports import EmailMessage, ProviderRejected, ProviderUnavailable

_TIMEOUT_SECONDS = 15


class SendGridEmail:
    name = "sendgrid"

    def __init__(self, api_key: str, base_url: str):
        self.client = SendGridAPIClient(api_key=api_key, host=base_url)
        # The SDK has no timeout by default; a hung provider must not hold an activity slot.
        self.client.client.timeout = _TIMEOUT_SECONDS

    def send(self, message: EmailMessage) -> str | None:
        try:
            response = self.client.send(build_mail(message))
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
        mail = Mail(from_email=message.from_email, to_emails=message.to,
                    subject=message.subject, plain_text_content=message.body)
    # custom_args come back on every event of the message (open, click, bounce...), which
    # is how the event webhook attributes them to the journey, step and contact.
    for key, value in {**message.tracking, "idempotency_key": message.idempotency_key}.items():
        mail.add_custom_arg(CustomArg(key=key, value=value))
    for name, value in message.headers.items():
        mail.add_header(Header(name, value))
    if message.reply_to:
        mail.reply_to = ReplyTo(message.reply_to)
    for item in message.attachments:
        mail.add_attachment(Attachment(
            FileContent(base64.b64encode(item.content).decode("ascii")), FileName(item.filename),
            FileType(item.content_type), Disposition("attachment")))
    return mail


def _translate(exc: "http_errors.HTTPError") -> Exception:
    status = exc.status_code
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body)
    if status in (408, 429) or status >= 500:
        retry_after = exc.headers.get("Retry-After") if exc.headers else None
        return ProviderUnavailable("sendgrid", f"HTTP {status}: {body[:300]}",
                                   float(retry_after) if retry_after and retry_after.isdigit() else None)
    return ProviderRejected("sendgrid", status, body[:500])
