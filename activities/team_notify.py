"""notify_team: tell a team member (not the contact) about this contact, by email or
SMS [001, 002], through the same ports and message ledger as the contact's own sends.

The ledger and message.sent use channels "team_email" / "team_sms": the message is
about the contact but not to them, so it must not count as mail the contact received
(sent_messages feeds the contact's engagement conditions). For the same reason no
open/click tracking is attached."""

from temporalio import activity

from activities.actions import step_of
from activities.callouts import done, render_all, skipped
from activities.delivery import Delivery, Skip
from activities.ports import EmailMessage, EmailSender, SmsMessage, SmsSender
from domain.contracts.actions import ActionOutcome, ActionRequest
from domain.steps.messaging import NotifyTeam


class TeamNotifyActivities:
    def __init__(
        self,
        delivery: Delivery,
        email: EmailSender,
        sms: SmsSender,
        from_email: str,
        team_email: str | None = None,
        team_phone: str | None = None,
    ):
        self.delivery = delivery
        self.email = email
        self.sms = sms
        self.from_email = from_email
        # Used when a step names no recipient: the team's usual inbox / phone.
        self.team_email = team_email
        self.team_phone = team_phone

    @activity.defn(name="notify_team")
    def notify_team(self, request: ActionRequest) -> ActionOutcome:
        step = step_of(request, NotifyTeam, "notify_team")
        contact = self.delivery.contact(request.contact_id)
        default_to = self.team_email if step.channel == "email" else self.team_phone
        # The recipient may be a merge tag too, e.g. {{ account_owner_email }}.
        rendered = render_all(
            contact,
            step,
            {"to": step.to or default_to or "", "subject": step.subject, "message": step.message},
        )
        if isinstance(rendered, ActionOutcome):
            return rendered
        to, subject, text = rendered
        to = to.strip()
        key = request.idempotency_key
        if step.channel == "email":
            if "@" not in to:
                return _no_address(
                    f"no valid team email address ({to!r})"
                    if to
                    else "no team email address on the step or in DRIPSTONE_TEAM_EMAIL"
                )
            message: EmailMessage | SmsMessage = EmailMessage(
                idempotency_key=key,
                contact_id=contact.contact_id,
                to=to,
                from_email=self.from_email,
                subject=subject,
                body=text,
            )
            port: EmailSender | SmsSender = self.email
        else:
            number = self.delivery.phone(to)  # national numbers: the deployment's region
            if number is None:
                return _no_address(
                    f"no valid team phone number ({to!r})"
                    if to
                    else "no team phone number on the step or in DRIPSTONE_TEAM_PHONE"
                )
            message = SmsMessage(
                idempotency_key=key, contact_id=contact.contact_id, to=number, body=text
            )
            port = self.sms
        # The team is not the contact: no opt-out or cap of the contact's applies
        # (Delivery.screen is not asked); address, ledger and pace are the core's.
        return done(
            self.delivery.deliver(
                port,
                f"team_{step.channel}",
                message,
                request.flow_id,
                request.step_id,
                send=port.send,
            )
        )


def _no_address(reason: str) -> ActionOutcome:
    return skipped(Skip(reason, "no_address"))
