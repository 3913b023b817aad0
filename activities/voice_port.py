"""The voice port: place one outbound call whose behaviour is the TwiML in `body`.
Adapters: Twilio Voice (activities/twilio_voice.py) and the embedded outbox, which
stores the TwiML under channel "voice" so a call can be inspected without a provider."""

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine

from activities.outbox import Outbox


@dataclass(frozen=True)
class VoiceCall:
    idempotency_key: str
    contact_id: str
    to: str
    body: str  # TwiML; named body so the outbox stores it like any message
    from_number: str | None = None
    record: bool = False
    subject: str | None = None


class VoiceCaller(Protocol):
    name: str

    def call(self, call: VoiceCall) -> str | None:
        """Place the call; return the provider's call id if it gives one."""

    def find_sent(self, idempotency_key: str) -> tuple[bool, str | None]: ...


class OutboxVoice:
    def __init__(self, engine: Engine):
        self._outbox = Outbox(engine, "voice")
        self.name = self._outbox.name

    def call(self, call: VoiceCall) -> str | None:
        return self._outbox.send(call)  # type: ignore[arg-type]  # duck-typed message

    def find_sent(self, idempotency_key: str) -> tuple[bool, str | None]:
        return self._outbox.find_sent(idempotency_key)
