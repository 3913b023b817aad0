"""place_call: the phone call step [000]. The call script becomes TwiML (say, dial,
pause, record, hang up) with the contact's merge tags filled in; the call goes out
through the voice port exactly once, recorded in the message ledger like an SMS.
Also: a test call of a step to a number the user gives, and the port chosen by settings."""

from uuid import uuid4

from sqlalchemy import Engine
from temporalio import activity
from twilio.twiml.voice_response import VoiceResponse

from activities.actions import step_of
from domain.contracts.actions import ActionOutcome, ActionRequest
from activities.callouts import deliver_once, load_contact, render_all
from activities.phones import stored_forms, to_e164
from activities.suppression import sms_suppression
from activities.voice_port import OutboxVoice, VoiceCall, VoiceCaller
from domain.conditions import ContactSnapshot
from domain.locales import LOCALE_ATTRIBUTE, contact_locale, localize
from domain.steps.messaging import Dial, Hangup, Pause, PhoneCall, Record, Say
from settings import Settings

CHANNEL = "voice"


def voice_caller(settings: Settings, engine: Engine) -> VoiceCaller:
    if settings.voice_provider == "twilio":
        from activities.twilio_voice import TwilioVoice

        missing = [name for name, value in (
            ("DRIPSTONE_TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
            ("DRIPSTONE_TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
            ("DRIPSTONE_TWILIO_VOICE_FROM_NUMBER or DRIPSTONE_TWILIO_FROM_NUMBER",
             settings.twilio_voice_from_number or settings.twilio_from_number),
        ) if not value]
        if missing:
            raise ValueError(f"voice_provider=twilio needs {', '.join(missing)}")
        return TwilioVoice(settings.twilio_account_sid, settings.twilio_auth_token,
                           settings.twilio_voice_from_number or settings.twilio_from_number,
                           settings.twilio_base_url)
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
    return {f"script.{i}.text" if isinstance(a, Say) else f"script.{i}.number":
            a.text if isinstance(a, Say) else a.number
            for i, a in enumerate(step.script) if isinstance(a, Say | Dial)}


def build_call(step: PhoneCall, contact: ContactSnapshot, to: str,
               key: str) -> VoiceCall | ActionOutcome:
    # The script in the contact's language, if the step has it (domain/locales.py).
    _, step = localize(step, step.locales, contact_locale(contact.attributes))
    rendered = render_all(contact, step, _templates(step))
    if isinstance(rendered, ActionOutcome):
        return rendered
    return VoiceCall(idempotency_key=key, contact_id=contact.contact_id, to=to,
                     body=twiml(step, rendered), from_number=step.from_number, record=step.record)


class VoiceActivities:
    def __init__(self, engine: Engine, caller: VoiceCaller, default_region: str | None = None):
        self.engine = engine
        self.caller = caller
        # As for SMS: a national number needs the deployment's region.
        self.default_region = default_region

    @activity.defn(name="place_call")
    def place_call(self, request: ActionRequest) -> ActionOutcome:
        step = step_of(request, PhoneCall, "place_call")
        contact = load_contact(self.engine, request.contact_id)
        to = to_e164(contact.phone, self.default_region)
        if to is None:
            reason = "contact has no phone number" if not contact.phone else \
                f"phone number {contact.phone!r} is not a valid number (E.164)"
            return ActionOutcome(status="skipped", reason=reason, reason_code="no_address")
        with self.engine.connect() as conn:
            # A STOP revokes consent to automated calls from us too, whoever holds the number.
            suppressed = sms_suppression(conn, contact.contact_id, stored_forms(contact.phone, to))
        if suppressed:
            return ActionOutcome(status="skipped", reason=suppressed, reason_code="suppressed")
        call = build_call(step, contact, to, request.idempotency_key)
        if isinstance(call, ActionOutcome):
            return call
        return deliver_once(self.engine, call.idempotency_key, CHANNEL, contact.contact_id, to,
                            request.flow_id, request.step_id, lambda: self.caller.call(call),
                            self.caller.find_sent, self.caller.name)


def place_test_call(engine: Engine, caller: VoiceCaller, step: PhoneCall, to: str,
                    contact_id: str | None = None, *, locale: str | None = None) -> str | None:
    """Place the step's call to `to` now, outside any journey, so its author can hear
    it. Merge tags come from `contact_id` when given (else only a default can fill
    them); `locale` stands for the contact's locale attribute. Not recorded in the
    ledger: every test call is meant to ring."""
    number = to_e164(to)
    if number is None:
        raise ValueError(f"to: {to!r} is not a valid phone number in E.164 (e.g. +14155550101)")
    contact = load_contact(engine, contact_id) if contact_id else \
        ContactSnapshot(contact_id="test-call")
    if locale is not None:
        contact = contact.model_copy(update={"attributes": {**contact.attributes,
                                                            LOCALE_ATTRIBUTE: locale}})
    call = build_call(step, contact, number, f"test-call/{step.id}/{uuid4().hex}")
    if isinstance(call, ActionOutcome):
        raise ValueError(f"step {step.id}: {call.reason}")
    return caller.call(call)
