"""The committed docs/events.md is what docgen.events writes from the payload models, so
the event reference never documents a field differently from how it is validated."""

import pytest

from docgen.events import COMMAND, DOCS_FILE, render
from domain.event_catalogue import EVENT_KINDS
from domain.payload_schemas import PAYLOAD_SCHEMAS


def test_committed_event_docs_match_the_models():
    committed = DOCS_FILE.read_text(encoding="utf-8") if DOCS_FILE.exists() else None
    if committed != render():
        pytest.fail(
            f"docs/events.md is missing or out of date with the event models; "
            f"regenerate it with `{COMMAND}` and commit the result",
            pytrace=False,
        )


def test_every_event_type_says_what_it_means_and_who_sends_it():
    assert set(EVENT_KINDS) == set(PAYLOAD_SCHEMAS)
    for event_type, kind in EVENT_KINDS.items():
        assert kind.meaning.strip() and kind.senders, event_type


def test_the_reference_lists_every_type_with_its_required_fields():
    text = render()
    for event_type in PAYLOAD_SCHEMAS:
        assert f"### `{event_type}`" in text, event_type
    form = text.split("### `form.submitted`")[1].split("### ")[0]
    assert "| `form_id` | string | yes | 1–200 characters |" in form
