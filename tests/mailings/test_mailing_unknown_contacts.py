"""`mailing show --json` answers as GET /v1/mailings/{id} does. A fixed-list audience
naming ids no contact has is accepted (a contact may appear before the send), but
validate, save and preview name the unknown ids as a warning, in the API and the CLI."""

import json

import pytest

from projections.event_store import ingest
from tests.api.v1_harness import sync_client
from tests.cli.invoke import dripstone_run
from tests.journey_harness import contact

DOCUMENT = {
    "id": "listed",
    "name": "Listed",
    "audience": {"contacts": ["c-ada", "zzz-ghost"]},
    "steps": [{"id": "main", "channel": "email", "subject": "Hi", "body": "Hello."}],
}


@pytest.fixture
def known(engine):
    ingest(engine, contact("c-ada", email="ada@example.com"))
    return engine


def test_the_api_names_unknown_ids_in_validate_save_and_preview(settings, known):
    client = sync_client(settings, known)
    checked = client.post("/v1/mailings/validate", json=DOCUMENT).json()
    assert checked["valid"] is True
    [warning] = [p for p in checked["problems"] if p["field"] == "audience.contacts"]
    assert warning["severity"] == "warning" and "'zzz-ghost'" in warning["message"]
    assert "'c-ada'" not in warning["message"]
    saved = client.post("/v1/mailings", json=DOCUMENT)
    assert saved.status_code == 201
    assert any("'zzz-ghost'" in p["message"] for p in saved.json()["problems"])
    preview = client.get("/v1/mailings/listed/preview").json()
    assert (preview["count"], preview["unknown_contacts"]) == (1, ["zzz-ghost"])


def test_the_cli_names_unknown_ids_in_validate_and_preview(known, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", known.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DRIPSTONE_DATA_DIR", str(tmp_path))
    path = tmp_path / "listed.json"
    path.write_text(json.dumps(DOCUMENT))
    validated = dripstone_run("mailing", "validate", path).stdout
    assert "warning" in validated and "'zzz-ghost'" in validated
    assert "is valid" in validated
    dripstone_run("mailing", "save", path)
    previewed = dripstone_run("mailing", "preview", "listed").stdout
    assert "1 contact(s)" in previewed and "'zzz-ghost'" in previewed


def test_show_json_has_the_fields_the_api_answers_with(settings, known, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", known.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DRIPSTONE_DATA_DIR", str(tmp_path))
    client = sync_client(settings, known)
    assert client.post("/v1/mailings", json=DOCUMENT).status_code == 201
    api = client.get("/v1/mailings/listed").json()
    shown = json.loads(dripstone_run("mailing", "show", "listed", "--json").stdout)
    assert set(shown) == set(api) - {"document"}
    assert shown == {k: v for k, v in api.items() if k != "document"}
    assert shown["name"] == "Listed"


def test_the_cli_says_mailing_for_a_problem_outside_any_step(known, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", known.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DRIPSTONE_DATA_DIR", str(tmp_path))
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**DOCUMENT, "id": "Bad Id"}))
    validated = dripstone_run("mailing", "validate", path, code=1).stdout
    assert "error: mailing, id: " in validated and "error: flow" not in validated
