"""`{{ preferences_url }}`: filled only in emails, and only where the deployment
configures preference links (key and public URL). Refused at validation otherwise, so a
message never passes validation and then fails at send time for want of it."""

from domain.merge_tags import MergeTagError, defaulted_fields, referenced_fields
from domain.steps import Step
from domain.steps.experiments import Experiment
from domain.steps.messaging import SendEmail
from domain.topics import LINK_FIELDS
from domain.validation.content import localized_fields, templated_fields
from domain.validation.problems import Problem

LINK_SETTINGS = "DRIPSTONE_PREFERENCE_LINK_KEY and DRIPSTONE_PREFERENCE_BASE_URL"


def check_links(step: Step, preference_links: bool | None, where: str = "") -> list[Problem]:
    """`preference_links`: whether the deployment has them (None: not known here, so
    only the step kind is checked). `where`: prefix of the field names (a mailing's
    `steps.N.`)."""
    if isinstance(step, Experiment):
        return [
            problem
            for i, variant in enumerate(step.variants)
            for problem in check_links(
                step.message(variant), preference_links, f"{where}variants.{i}."
            )
        ]
    templates = {
        **templated_fields(step),
        **{field: template for field, (_, template) in localized_fields(step).items()},
    }
    problems = []
    for field, template in templates.items():
        try:
            # A default fills the tag wherever it is not: the message still renders.
            named = (referenced_fields(template) - defaulted_fields(template)) & LINK_FIELDS
        except MergeTagError:
            continue  # reported by check_content
        for name in sorted(named):
            if not isinstance(step, SendEmail):
                problems.append(
                    Problem(
                        step_id=step.id,
                        field=f"{where}{field}",
                        code="preference_link_not_email",
                        message=f"{{{{ {name} }}}} is filled only in emails (send_email subject "
                        f"and body), not in a {step.kind} step; give it a default or remove it",
                    )
                )
            elif preference_links is False:
                problems.append(
                    Problem(
                        step_id=step.id,
                        field=f"{where}{field}",
                        code="preference_links_off",
                        message=f"{{{{ {name} }}}} needs preference links, which this deployment "
                        f"does not configure: set {LINK_SETTINGS} (docs/preferences.md), or "
                        "remove the tag (a marketing email gets the link in its footer once they "
                        "are set)",
                    )
                )
    return problems
