"""`dripstone contact show / events / messages` on a migrated database (SQLite, or the
PostgreSQL lane) holding a contact the engine's own code sent messages to: rich tables
that keep whole rows when piped, `--json` as the API answers, pages by --cursor, and
clean errors for an unknown contact or a cursor that is not one."""

import json

import pytest

from tests.cli.invoke import dripstone_run
from tests.contact_sends import FAILED_KEY, GSM_SENT, seed_ann


@pytest.fixture
def dripstone(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DRIPSTONE_DATA_DIR", str(tmp_path))
    # As when piped: no terminal, no COLUMNS. Rows must print whole, however wide.
    monkeypatch.delenv("COLUMNS", raising=False)
    seed_ann(engine)

    return dripstone_run


def row_of(output: str, needle: str) -> str:
    [row] = [line for line in output.splitlines() if needle in line]
    return row


def test_show_prints_the_contact_as_the_api_does(dripstone):
    shown = dripstone("contact", "show", "ann").stdout
    assert "ann@example.com" in row_of(shown, "email")
    assert "+14155550101" in row_of(shown, "phone")
    assert "vip" in row_of(shown, "tags")
    assert "gold (active)" in row_of(shown, "subscriptions")
    assert '"Ann"' not in shown and "Ann" in row_of(shown, "attribute first_name")
    data = json.loads(dripstone("contact", "show", "ann", "--json").stdout)
    assert (data["email"], data["tags"], data["subscriptions"]) == (
        "ann@example.com",
        ["vip"],
        {"gold": True},
    )
    assert data["attributes"] == {"first_name": "Ann", "plan": "pro"}


def test_messages_show_status_text_and_sms_segments_in_whole_rows(dripstone):
    output = dripstone("contact", "messages", "ann").stdout
    ucs2 = row_of(output, "welcome/ucs2")
    # The whole text on one line, in a row far wider than 80 columns.
    assert "Hi Ann 👋 " + "y" * 70 in ucs2 and "2 segments, UCS-2" in ucs2 and "sent" in ucs2
    assert len(ucs2) > 160
    gsm = row_of(output, "welcome/gsm")
    assert GSM_SENT in gsm and "1 segment, GSM-7" in gsm and "outbox-" in gsm
    assert "Welcome, Ann" in row_of(output, "welcome/hello")
    assert "failed: 550 mailbox unavailable" in output
    lines = output.splitlines()
    order = [
        next(i for i, line in enumerate(lines) if needle in line)
        for needle in ("failed:", "welcome/ucs2", "welcome/gsm", "welcome/hello")
    ]
    assert order == sorted(order)  # newest first
    assert "older:" not in output

    data = json.loads(dripstone("contact", "messages", "ann", "--json").stdout)
    assert [m["message_key"] for m in data["messages"]][0] == FAILED_KEY
    assert [(m["segments"], m["encoding"]) for m in data["messages"]] == [
        (None, None),
        (2, "UCS-2"),
        (1, "GSM-7"),
        (None, None),
    ]
    assert data["next"] is None


def test_pages_follow_by_cursor(dripstone):
    first = json.loads(dripstone("contact", "events", "ann", "--limit", "3", "--json").stdout)
    assert [e["type"] for e in first["events"]] == ["message.sent"] * 3
    hint = row_of(dripstone("contact", "events", "ann", "--limit", "3").stdout, "older:")
    assert hint == f"older: dripstone contact events ann --cursor {first['next']}"
    rest = json.loads(
        dripstone("contact", "events", "ann", "--cursor", first["next"], "--json").stdout
    )
    assert [e["type"] for e in rest["events"]] == [
        "form.submitted",
        "subscription.started",
        "contact.tag_added",
        "contact.created",
    ]
    assert rest["next"] is None
    table = dripstone("contact", "events", "ann", "--cursor", first["next"]).stdout
    assert '{"form_id": "newsletter"}' in row_of(table, "form.submitted")

    older = json.loads(dripstone("contact", "messages", "ann", "--limit", "3", "--json").stdout)
    last = json.loads(
        dripstone("contact", "messages", "ann", "--cursor", older["next"], "--json").stdout
    )
    assert [m["step_id"] for m in last["messages"]] == ["hello"]


def test_unknown_contacts_and_bad_cursors_are_errors_not_tracebacks(dripstone):
    for command in ("show", "events", "messages"):
        refused = dripstone("contact", command, "nobody", code=2)
        assert refused.stderr.strip() == "error: there is no contact 'nobody'"
    bad = dripstone("contact", "messages", "ann", "--cursor", "abc", code=2)
    assert bad.stderr.startswith("error: --cursor: not a cursor")
    assert dripstone("contact", "events", "ann", "--limit", "501", code=2).exit_code == 2
