"""place_call: the phone call step [000]. The call script becomes TwiML (say, dial,
pause, record, hang up) with the contact's merge tags filled in; the call goes out
through the voice port exactly once, by the delivery core's rules like an SMS.
Also: a test call of a step to a number the user gives, and the port chosen by settings."""

from uuid import uuid4

from sqlalchemy import Engine
from temporalio import activity
from twilio.twiml.voice_response import VoiceResponse

from activities.actions import step_of
from activities.callouts import done, render_all, skipped
from activities.delivery import ContactChannel, Delivery, Skip
from activities.voice_port import OutboxVoice, VoiceCall, VoiceCaller
from domain.conditions import ContactSnapshot
from domain.contracts.actions import ActionOutcome, ActionRequest
from domain.locales import LOCALE_ATTRIBUTE, contact_locale, localize
from domain.steps.messaging import Dial, Hangup, Pause, PhoneCall, Record, Say
from settings import Settings

CHANNEL: ContactChannel = "voice"


def voice_caller(settings: Settings, engine: Engine) -> VoiceCaller:
    if settings.voice_provider == "twilio":
        from activities.twilio_voice import TwilioVoice

        missing = [
            name
            for name, value in (
                ("DRIPSTONE_TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
                ("DRIPSTONE_TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
                (
                    "DRIPSTONE_TWILIO_VOICE_FROM_NUMBER or DRIPSTONE_TWILIO_FROM_NUMBER",
                    settings.twilio_voice_from_number or settings.twilio_from_number,
                ),
            )
            if not value
        ]
        if missing:
            raise ValueError(f"voice_provider=twilio needs {', '.join(missing)}")
        return TwilioVoice(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_voice_from_number or settings.twilio_from_number,
            settings.twilio_base_url,
        )
    return OutboxVoice(engine)


def twiml(step: PhoneCall, texts: list[str]) -> str:
    """TwiML for the script; `texts` holds the rendered Say texts and Dial numbers, in
    script order (see _templates)."""
    response = VoiceResponse()
    rendered = iter(texts)
    for action in step.script:
        match action:
            case Say():
                response.say(next(rendered), **({"voice": action.voice} if action.voice else {}))
            case Dial():
                response.dial(next(rendered))
            case Pause():
                response.pause(length=action.seconds)
            case Record():
                response.record(max_length=action.max_seconds)
            case Hangup():
                response.hangup()
    return str(response)


def _templates(step: PhoneCall) -> dict[str, str]:
    """The Say texts and Dial numbers by field name, in script order."""
    return {
        f"script.{i}.text" if isinstance(a, Say) else f"script.{i}.number": a.text
        if isinstance(a, Say)
        else a.number
        for i, a in enumerate(step.script)
        if isinstance(a, Say | Dial)
    }


def build_call(
    step: PhoneCall, contact: ContactSnapshot, to: str, key: str
) -> VoiceCall | ActionOutcome:
    # The script in the contact's language, if the step has it (domain/locales.py).
    _, step = localize(step, step.locales, contact_locale(contact.attributes))
    rendered = render_all(contact, step, _templates(step))
    if isinstance(rendered, ActionOutcome):
        return rendered
    return VoiceCall(
        idempotency_key=key,
        contact_id=contact.contact_id,
        to=to,
        body=twiml(step, rendered),
        from_number=step.from_number,
        record=step.record,
    )


class VoiceActivities:
    """place_call: the TwiML is this channel's own work; address (with the deployment's
    region), STOP, ledger and pace are the delivery core's (activities/delivery.py)."""

    def __init__(self, delivery: Delivery, caller: VoiceCaller):
        self.delivery = delivery
        self.caller = caller

    @activity.defn(name="place_call")
    def place_call(self, request: ActionRequest) -> ActionOutcome:
        step = step_of(request, PhoneCall, "place_call")
        contact = self.delivery.contact(request.contact_id)
        to = self.delivery.address(CHANNEL, contact)
        if isinstance(to, Skip):
            return skipped(to)
        # Calls carry no transactional flag: only the STOP rule applies to them (voice
        # has no topics and no frequency cap).
        if skip := self.delivery.screen(CHANNEL, contact, to, request.idempotency_key):
            return skipped(skip)
        call = build_call(step, contact, to, request.idempotency_key)
        if isinstance(call, ActionOutcome):
            return call
        return done(
            self.delivery.deliver(
                self.caller, CHANNEL, call, request.flow_id, request.step_id, send=self.caller.call
            )
        )


def place_test_call(
    delivery: Delivery,
    caller: VoiceCaller,
    step: PhoneCall,
    to: str,
    contact_id: str | None = None,
    *,
    locale: str | None = None,
) -> str | None:
    """Place the step's call to `to` now, outside any journey, so its author can hear
    it. Merge tags come from `contact_id` when given (else only a default can fill
    them); `locale` stands for the contact's locale attribute. Not recorded in the
    ledger: every test call is meant to ring."""
    number = delivery.phone(to)  # a national number in the deployment's region, as for calls
    if number is None:
        raise ValueError(f"to: {to!r} is not a valid phone number in E.164 (e.g. +14155550101)")
    contact = (
        delivery.contact(contact_id) if contact_id else ContactSnapshot(contact_id="test-call")
    )
    if locale is not None:
        contact = contact.model_copy(
            update={"attributes": {**contact.attributes, LOCALE_ATTRIBUTE: locale}}
        )
    call = build_call(step, contact, number, f"test-call/{step.id}/{uuid4().hex}")
    if isinstance(call, ActionOutcome):
        raise ValueError(f"step {step.id}: {call.reason}")
    return caller.call(call)
