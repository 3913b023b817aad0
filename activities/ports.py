"""One port per channel. Adapters (embedded outbox, SendGrid, Twilio) implement them;
the messaging activities only ever talk to these Protocols."""

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class EmailAttachment:
    filename: str
    content_type: str
    content: bytes  # fetched by the activity; never travels through Temporal


@dataclass(frozen=True)
class EmailMessage:
    idempotency_key: str
    contact_id: str
    to: str
    from_email: str
    subject: str
    body: str
    # Carried to the provider so opens and clicks come back attributed to journey and step.
    tracking: dict[str, str] = field(default_factory=dict)
    # A provider-side template (SendGrid dynamic template) filled with template_data;
    # subject and body are then only what the template chooses to use.
    template_id: str | None = None
    template_data: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[EmailAttachment, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)  # e.g. List-Unsubscribe
    reply_to: str | None = None
    # Per-recipient values inside `body` (placeholder -> value: the preference link), so a
    # provider that sends in bulk can share one body and substitute them per recipient.
    substitutions: dict[str, str] = field(default_factory=dict)

    def shared_body(self) -> str:
        """The body with each per-recipient value put back as its placeholder."""
        body = self.body
        for placeholder, value in self.substitutions.items():
            body = body.replace(value, placeholder)
        return body


@dataclass(frozen=True)
class SmsMessage:
    idempotency_key: str
    contact_id: str
    to: str
    body: str
    sender: str | None = None


class ProviderRejected(Exception):
    """The provider refused the message for good (HTTP 4xx other than 429)."""

    def __init__(self, provider: str, status: int, reason: str):
        self.provider, self.status, self.reason = provider, status, reason
        super().__init__(f"{provider} rejected the message ({status}): {reason}")


class ProviderUnavailable(Exception):
    """Worth retrying: 5xx, 429 or a timeout. `retry_after` honours the provider's hint."""

    def __init__(self, provider: str, reason: str, retry_after: float | None = None):
        self.provider, self.reason, self.retry_after = provider, reason, retry_after
        super().__init__(f"{provider} unavailable: {reason}")


@dataclass
class BatchOutcome:
    """What a provider did with a batch sent in bulk (send_many): the keys it took (with
    its message ids), those it refused for good, and, when it stopped answering partway,
    why (what is in neither map did not go out)."""

    sent: dict[str, str | None] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    unavailable: ProviderUnavailable | None = None


class EmailSender(Protocol):
    name: str

    def send(self, message: EmailMessage) -> str | None:
        """Deliver; return the provider's message id if it gives one."""

    def find_sent(self, idempotency_key: str) -> tuple[bool, str | None]:
        """(known, provider_message_id): known=False means the provider cannot tell us
        whether an earlier attempt went out, so a resend may duplicate."""


# Adapters that can take many messages at once (the outbox: one transaction; SendGrid:
# up to 1,000 personalizations a request) also offer
#     send_many(messages, before=lambda permits: None, after=lambda part, outcome: None)
#         -> BatchOutcome
# calling before(n) ahead of each request of n messages (the shared pace) and
# after(part, outcome) once a request was answered (so its part can be recorded), and
# `batch_size`, the most messages one call should carry; mailings use them.


class SmsSender(Protocol):
    name: str

    def send(self, message: SmsMessage) -> str | None: ...

    def find_sent(self, idempotency_key: str) -> tuple[bool, str | None]: ...
