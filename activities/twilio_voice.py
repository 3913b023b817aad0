"""Twilio adapter for the voice port: one outbound call per step, its TwiML inline."""

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from activities.twilio_errors import twilio_errors
from activities.voice_port import VoiceCall

_TIMEOUT_SECONDS = 15


class TwilioVoice:
    name = "twilio-voice"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str | None,
        base_url: str | None = None,
    ):
        self.client = Client(
            account_sid, auth_token, http_client=TwilioHttpClient(timeout=_TIMEOUT_SECONDS)
        )
        if base_url:
            # The SDK's own knob for its API host; used to aim it at a local test double.
            self.client.api.base_url = base_url
        self.from_number = from_number

    def call(self, call: VoiceCall) -> str | None:
        options = {"record": True} if call.record else {}
        with twilio_errors(self.name):
            created = self.client.calls.create(
                to=call.to, from_=call.from_number or self.from_number, twiml=call.body, **options
            )
        return created.sid

    def find_sent(self, idempotency_key: str) -> tuple[bool, str | None]:
        # Calls.create takes no idempotency key, so an unknown outcome stays unknown.
        return False, None
