"""Twilio adapter for the SMS port, through the official twilio SDK."""

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from activities.ports import ProviderRejected, ProviderUnavailable, SmsMessage

_TIMEOUT_SECONDS = 15


class TwilioSms:
    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, from_number: str | None,
                 messaging_service_sid: str | None, base_url: str | None = None):
        self.client = Client(account_sid, auth_token,
                             http_client=TwilioHttpClient(timeout=_TIMEOUT_SECONDS))
        if base_url:
            # The SDK's own knob for its API host; used to aim it at a local test double.
            self.client.api.base_url = base_url
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid

    def send(self, message: SmsMessage) -> str | None:
        sender = {"from_": message.sender or self.from_number}
        if self.messaging_service_sid and not message.sender:
            sender = {"messaging_service_sid": self.messaging_service_sid}
        try:
            created = self.client.messages.create(to=message.to, body=message.body, **sender)
        except TwilioRestException as exc:
            if exc.status in (408, 429) or exc.status >= 500:
                raise ProviderUnavailable(self.name, f"HTTP {exc.status}: {exc.msg}") from None
            raise ProviderRejected(self.name, exc.status, f"{exc.code}: {exc.msg}") from None
        except (TimeoutError, OSError) as exc:
            raise ProviderUnavailable(self.name, f"network error: {exc}") from None
        return created.sid

    def find_sent(self, idempotency_key: str) -> tuple[bool, str | None]:
        # Twilio has no idempotency key on message create, so an unknown outcome stays unknown.
        return False, None
