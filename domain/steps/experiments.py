"""The experiment step: an A/B (up to A/B/C/D/E) test of one message. Contacts are spread
over the variants by weight, deterministically per contact, until the winner rule is met;
after that every contact reaching the step gets the winner (see docs/experiments.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from domain.durations import Duration
from domain.identifiers import StepId
from domain.locales import MAX_LOCALES
from domain.steps.base import Model
from domain.steps.messaging import EmailVariant, MessageStep, SendEmail, SendSms, SmsVariant

MIN_VARIANTS, MAX_VARIANTS = 2, 5
METRICS = ("opened", "clicked", "converted")


class VariantLocale(Model):
    """A variant's content in one language; a field left out is the variant's own.
    Email experiments use subject/body/template_id, SMS experiments use text."""

    subject: str | None = None
    body: str | None = None
    template_id: str | None = None
    text: str | None = None


class Variant(Model):
    """One version of the message. Email variants use subject/body (or template_id), SMS
    variants use text; everything else about the send is the step's own."""

    name: str = ""
    weight: float = Field(
        default=1, description="Relative share of test contacts (> 0), " "e.g. 50/50 or 1/1/2."
    )
    subject: str = ""
    body: str = ""
    template_id: str | None = None
    text: str = ""
    locales: dict[str, VariantLocale] = Field(
        default_factory=dict,
        max_length=MAX_LOCALES,
        description=(
            "This variant's content per language tag (`pt-BR`, `pt`), as a message step's "
            "`locales`: the contact's `locale` attribute chooses, falling back from `pt-BR` "
            "to `pt` to the variant's own content."
        ),
    )


class Metric(Model):
    """What makes a variant better: the email opened (a click counts as an open), a link
    clicked, or the contact converting at a goal of this flow; each within `window` of
    the contact reaching the step. A contact is measured once its window has closed."""

    kind: str = Field(default="opened", description="opened, clicked or converted.")
    goal: StepId | None = Field(
        default=None,
        description="converted only: this goal step; " "any goal of the flow when unset.",
    )
    window: Duration = Field(default=timedelta(days=1))


class WinnerRule(Model):
    """When the test ends: once the test period since the first test contact has passed,
    or once every variant has `sample_size` measured contacts. The variant with the best
    rate wins (the first listed on a tie); the result is stored with its statistics."""

    after: Literal["test_period", "sample_size"] = "sample_size"
    test_period: Duration | None = None
    sample_size: int | None = Field(default=None, description="Measured contacts per variant.")


class Experiment(MessageStep):
    kind: Literal["experiment"] = "experiment"
    channel: Literal["email", "sms"] = "email"
    variants: list[Variant] = Field(default_factory=list)
    metric: Metric = Field(default_factory=Metric)
    winner: WinnerRule = Field(default_factory=WinnerRule)
    from_email: str | None = None
    reply_to: str | None = None
    sender: str | None = None
    if_no_phone: Literal["skip", "exit"] = "skip"
    topic: str | None = Field(
        default=None,
        description="The subscription topic every variant is sent under "
        "(DRIPSTONE_SUBSCRIPTION_TOPICS). None: the default topic, `general`.",
    )

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)

    def message(self, variant: Variant) -> SendEmail | SendSms:
        """The variant as the plain message step it sends as (under this step's id, so
        the ledger, sent messages and opens name the experiment step)."""
        common = {
            "id": self.id,
            "name": self.name,
            "next": self.next,
            "on_missing_value": self.on_missing_value,
            "topic": self.topic,
        }
        if self.channel == "sms":
            return SendSms(
                **common,
                text=variant.text,
                sender=self.sender,
                if_no_phone=self.if_no_phone,
                locales={tag: SmsVariant(text=v.text) for tag, v in variant.locales.items()},
            )
        return SendEmail(
            **common,
            subject=variant.subject,
            body=variant.body,
            template_id=variant.template_id,
            from_email=self.from_email,
            reply_to=self.reply_to,
            locales={
                tag: EmailVariant(subject=v.subject, body=v.body, template_id=v.template_id)
                for tag, v in variant.locales.items()
            },
        )


EXPERIMENT_STEPS = (Experiment,)
