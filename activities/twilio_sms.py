"""Twilio adapter for the SMS port, through the official twilio SDK."""

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from activities.ports import SmsMessage
from activities.twilio_errors import twilio_errors

_TIMEOUT_SECONDS = 15


class TwilioSms:
    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str | None,
        messaging_service_sid: str | None,
        base_url: str | None = None,
        status_callback_url: str | None = None,
    ):
        self.client = Client(
            account_sid, auth_token, http_client=TwilioHttpClient(timeout=_TIMEOUT_SECONDS)
        )
        if base_url:
            # The SDK's own knob for its API host; used to aim it at a local test double.
            self.client.api.base_url = base_url
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        # Where Twilio posts delivery statuses (api/provider_webhooks.py), if published.
        self.status_callback_url = status_callback_url

    def send(self, message: SmsMessage) -> str | None:
        # A step's own sender wins; otherwise the messaging service (which picks a number
        # from its pool and handles opt-outs) over the single default number.
        options = {"from_": message.sender or self.from_number}
        if self.messaging_service_sid and not message.sender:
            options = {"messaging_service_sid": self.messaging_service_sid}
        if self.status_callback_url:
            options["status_callback"] = self.status_callback_url
        with twilio_errors(self.name):
            created = self.client.messages.create(to=message.to, body=message.body, **options)
        return created.sid

    def find_sent(self, idempotency_key: str) -> tuple[bool, str | None]:
        # Twilio has no idempotency key on message create, so an unknown outcome stays unknown.
        return False, None
