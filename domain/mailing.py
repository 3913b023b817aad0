"""Mailings [003]: one message to a whole audience, then a chain of further steps, each to
everyone the previous step reached or to those of them matching terms, sent now, at a
moment, or at a wall-clock time in each recipient's own zone, with conversion counted per
step.

Pure: the document as users write it (YAML or JSON), shared by the API, the CLI, the
workflow and its activities.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from domain.conditions import Condition
from domain.durations import Duration
from domain.identifiers import ContactId, StepId
from domain.locales import MAX_LOCALES
from domain.steps.base import Model, When
from domain.steps.messaging import EmailVariant, SendEmail, SendSms, SmsVariant

MailingId = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", strip_whitespace=True)
]

# A fixed list travels in the document (and so in the workflow's input): beyond this, an
# audience is a condition (a tag or an attribute set by an import), not a list.
MAX_LISTED_CONTACTS = 10_000

# What a later step may ask of the contacts the previous step reached [003]. Opens and
# clicks are those of the previous step's own email; unsubscribed_email is the email
# channel as a whole, as the `unsubscribed` condition reads it.
Term = Literal[
    "opened", "clicked", "not_opened", "not_clicked", "unsubscribed_email", "subscribed_email"
]
ENGAGEMENT_TERMS = {"opened", "clicked", "not_opened", "not_clicked"}

Channel = Literal["email", "sms"]

# Why a recipient got nothing, as counted per step.
SkipReason = Literal["no_address", "unsubscribed", "suppressed", "frequency_cap", "merge_value"]
SKIP_REASONS: tuple[str, ...] = SkipReason.__args__  # type: ignore[attr-defined]


class MailingAudience(Model):
    """Who the main step goes to: contacts satisfying `condition` when the step sends
    (the flows' condition language), or the listed contacts; neither means every contact."""

    condition: Condition | None = None
    contacts: list[ContactId] | None = Field(default=None, max_length=MAX_LISTED_CONTACTS)


class Conversion(Model):
    """The goal a step is judged by: an event of this type within `within` of the send.
    A contact's conversion counts for the last step that reached them before it, never
    for two steps [003]."""

    event: str
    within: Duration


class MailingVariant(Model):
    """A step's content in one language; a field left out is the default's. Email steps
    take subject, body and template_id; SMS steps take text."""

    subject: str | None = None
    body: str | None = None
    template_id: str | None = None
    text: str | None = None


class MailingStep(Model):
    id: StepId
    name: str | None = Field(default=None, max_length=200)
    channel: Channel
    # Email content (inline, or a provider template with the contact as its data).
    subject: str = ""
    body: str = ""
    template_id: str | None = None
    from_email: str | None = None
    reply_to: str | None = None
    # SMS content.
    text: str = ""
    sender: str | None = None
    locales: dict[str, MailingVariant] = Field(
        default_factory=dict,
        max_length=MAX_LOCALES,
        description=(
            "Content per language tag (`pt-BR`, `pt`); each recipient's `locale` attribute "
            "chooses, falling back from `pt-BR` to `pt` to the step's own content."
        ),
    )
    when: When | None = Field(
        default=None,
        description="Main step: now (unset), `at` or "
        "`local_at`. Later steps may also wait a `delay` after the "
        "previous step finished sending.",
    )
    to: Literal["previous", "terms"] = Field(
        default="previous",
        description="Later steps: everyone the previous step reached, "
        "or only those of them matching `terms` (all must hold).",
    )
    terms: list[Term] = Field(default_factory=list)
    condition: Condition | None = Field(
        default=None,
        description="A further condition over the read models, checked " "when the step sends.",
    )
    conversion: Conversion | None = None

    def as_message_step(self, topic: str | None = None) -> SendEmail | SendSms:
        """The journey step with the same content (and the mailing's topic), so mailings
        render, validate and deliver exactly as journeys do."""
        if self.channel == "email":
            return SendEmail(
                id=self.id,
                subject=self.subject,
                body=self.body,
                template_id=self.template_id,
                from_email=self.from_email,
                reply_to=self.reply_to,
                topic=topic,
                locales={
                    tag: EmailVariant(subject=v.subject, body=v.body, template_id=v.template_id)
                    for tag, v in self.locales.items()
                },
            )
        return SendSms(
            id=self.id,
            text=self.text,
            sender=self.sender,
            topic=topic,
            locales={tag: SmsVariant(text=v.text) for tag, v in self.locales.items()},
        )


class Mailing(Model):
    id: MailingId
    name: str | None = Field(default=None, max_length=200)
    transactional: bool = Field(
        default=False,
        description="Receipts and notices: sent to contacts who unsubscribed "
        "from marketing email too, and exempt from frequency caps. Bounced addresses and "
        "SMS opt-outs (STOP) still hold.",
    )
    topic: str | None = Field(
        default=None,
        description="The subscription topic (DRIPSTONE_SUBSCRIPTION_TOPICS) of "
        "every step; recipients who opted out of it on a step's channel are skipped (unless "
        "transactional). None: the default topic, `general`.",
    )
    audience: MailingAudience = Field(default_factory=MailingAudience)
    steps: list[MailingStep] = Field(min_length=1)

    def step(self, step_id: str) -> MailingStep:
        return next(s for s in self.steps if s.id == step_id)

    def previous(self, step_id: str) -> MailingStep | None:
        index = [s.id for s in self.steps].index(step_id)
        return self.steps[index - 1] if index else None


def message_key(mailing_id: str, step_id: str, contact_id: str) -> str:
    """The ledger key: one message per recipient and step, whatever retries or restarts."""
    return f"mailing/{mailing_id}/{step_id}/{contact_id}"


def workflow_id(mailing_id: str) -> str:
    return f"mailing/{mailing_id}"


MailingStatus = Literal["draft", "scheduled", "sending", "paused", "sent", "cancelled"]
