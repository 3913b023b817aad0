"""What each SMS step's text costs, for `flow validate` and POST /v1/flows/validate (and
a mailing's):
information, never a problem (a text past the step's max_segments is the warning
`sms_too_long`). Counted on the text as written: merge tags filled in per contact
can change both the count and the encoding."""

from pydantic import BaseModel, Field

from domain import sms
from domain.flow import Flow
from domain.mailing import Mailing, MailingStep
from domain.steps.messaging import NotifyTeam, SendSms


class SmsStep(BaseModel):
    step_id: str
    field: str = Field(description="text (send_sms) or message (notify_team by SMS).")
    characters: int
    segments: int = Field(description="SMS parts billed for the text as written.")
    encoding: str = Field(description="GSM-7, or UCS-2 when a character is outside GSM.")

    def __str__(self) -> str:
        parts = "segment" if self.segments == 1 else "segments"
        return (
            f"info: step {self.step_id}, {self.field}: {self.segments} {parts}, "
            f"{self.encoding} ({self.characters} characters as written)"
        )


def sms_steps(document: Flow | Mailing) -> list[SmsStep]:
    """For a flow's SMS steps, or a mailing's."""
    found = []
    for step in document.steps:
        if isinstance(step, SendSms) or (isinstance(step, MailingStep) and step.channel == "sms"):
            field, text = "text", step.text
        elif isinstance(step, NotifyTeam) and step.channel == "sms":
            field, text = "message", step.message
        else:
            continue
        found.append(
            SmsStep(
                step_id=step.id,
                field=field,
                characters=len(text),
                segments=sms.segments(text),
                encoding=sms.encoding(text),
            )
        )
    return found
