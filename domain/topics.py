"""Subscription topics: what a marketing message is about (newsletter, product updates,
reminders...), so a contact can leave one topic on one channel and keep the rest.

The catalogue itself is deployment configuration (settings.subscription_topics, id ->
label); this module holds what documents, validation, conditions and delivery share
about it. Pure: safe in workflow code."""

from __future__ import annotations

import re

# Every catalogue has it: the topic of a message step or mailing that names none, so
# documents written before topics existed keep their meaning (a marketing message a
# contact can still opt out of).
DEFAULT_TOPIC = "general"
DEFAULT_TOPICS = {
    DEFAULT_TOPIC: "General updates",
    "newsletter": "Newsletter",
    "product-updates": "Product updates",
    "reminders": "Reminders",
}
TOPIC_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# The channels a contact chooses per topic (voice and webhooks are not marketing).
TOPIC_CHANNELS = ("email", "sms")
# Merge tags a message may use besides the contact's fields: the link to the contact's
# own preference page (set when the deployment configures preference links).
LINK_FIELDS = frozenset({"preferences_url"})


def topic_or_default(topic: str | None) -> str:
    return topic or DEFAULT_TOPIC
