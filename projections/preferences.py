"""What a contact's preference page shows: the topics they left on each channel, and
the channels they left altogether (an email unsubscribe, an SMS STOP)."""

from dataclasses import dataclass

from sqlalchemy import Connection, select

from projections.schema import channel_status
from projections.topic_schema import topic_preferences


@dataclass(frozen=True)
class Choices:
    topics_left: frozenset[tuple[str, str]]  # (topic, channel)
    channels_left: frozenset[str]

    def subscribed(self, topic: str, channel: str) -> bool:
        return (topic, channel) not in self.topics_left


def contact_choices(conn: Connection, contact_id: str) -> Choices:
    T, S = topic_preferences.c, channel_status.c
    left = conn.execute(
        select(T.topic, T.channel).where(T.contact_id == contact_id, T.subscribed.is_(False))
    ).all()
    channels = conn.execute(
        select(S.channel).where(
            S.contact_id == contact_id, S.list_id == "", S.unsubscribed.is_(True)
        )
    ).scalars()
    return Choices(frozenset((topic, channel) for topic, channel in left), frozenset(channels))
