"""A message.sent event's id: the same as ever, whatever the key."""

from uuid import NAMESPACE_URL, uuid5

import pytest

from domain.events import sent_event_id


@pytest.mark.parametrize(
    "key", ["mailing/spring/main/c-1", "", "ü/中/é", "x" * 500, "journey/f1/run-2/step/3"]
)
def test_a_sent_event_id_is_the_uuid5_of_its_message_key(key):
    assert sent_event_id(key) == f"sent:{uuid5(NAMESPACE_URL, key)}"
