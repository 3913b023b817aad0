"""Topic names in flows and mailings: each must be in the deployment's catalogue."""

from collections.abc import Collection

from domain.topics import TOPIC_PATTERN
from domain.validation.problems import Problem


def check_topic(
    step_id: str | None, field: str, topic: str | None, known_topics: Collection[str] | None
) -> list[Problem]:
    """An unknown topic is an error naming the field; None (the default topic) is fine.
    `known_topics` None: the catalogue is not known here, so only the form is checked."""
    if topic is None:
        return []
    if not TOPIC_PATTERN.match(topic):
        return [
            Problem(
                step_id=step_id,
                field=field,
                code="invalid",
                message=(f"topic {topic!r} is not a topic id (lowercase letters, digits, - and _)"),
            )
        ]
    if known_topics is not None and topic not in known_topics:
        return [
            Problem(
                step_id=step_id,
                field=field,
                code="unknown_topic",
                message=(
                    f"no subscription topic {topic!r}; known topics: {', '.join(sorted(known_topics))}"
                    " (DRIPSTONE_SUBSCRIPTION_TOPICS)"
                ),
            )
        ]
    return []
