"""The `dripstone flow ...` and `dripstone enroll` commands against a real database
(the test's SQLite file, or the PostgreSQL lane's)."""

import json

import pytest
import yaml

from cli.dev_stack import SAMPLE_FLOW
from cli.flow_files import load_flow_file
from domain.flow import Flow
from domain.validation import parse_flow
from projections.flow_catalogue import get_flow, get_version
from tests.cli.invoke import dripstone_run

SAMPLE, _ = load_flow_file(SAMPLE_FLOW)


@pytest.fixture
def dripstone(engine, tmp_path, monkeypatch):
    """Runs the CLI on the `engine` fixture's database; fails on any traceback."""
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DRIPSTONE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")  # rich tables would truncate at 80

    return dripstone_run


def write(tmp_path, name: str, document: dict) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document) if name.endswith(".json") else yaml.safe_dump(document))
    return str(path)


def sample_document(**changes) -> dict:
    document = yaml.safe_load(SAMPLE_FLOW.read_text())
    return document | changes


def broken_document() -> dict:
    document = sample_document()
    document["steps"][0] = {"id": "welcome-email", "kind": "send_email", "body": "Hi"}
    return document


def test_save_with_problems_exits_zero_and_says_publishing_is_blocked(dripstone, tmp_path, engine):
    result = dripstone("flow", "save", write(tmp_path, "broken.yaml", broken_document()))
    assert "saved draft of flow 'welcome'" in result.stdout
    assert (
        "step welcome-email, subject: an email subject is required [missing_setting]"
        in result.stdout
    )
    assert "publishing is blocked" in result.stdout
    refused = dripstone("flow", "publish-draft", "welcome", code=2)
    assert refused.stderr.startswith("error: flow 'welcome' has problems")
    assert "step welcome-email, subject" in refused.stderr
    with engine.connect() as conn:
        assert get_flow(conn, "welcome").current_version == 0


def test_fixing_the_draft_and_publishing_it(dripstone, tmp_path):
    dripstone("flow", "save", write(tmp_path, "broken.yaml", broken_document()))
    result = dripstone("flow", "import", str(SAMPLE_FLOW))
    assert "publishing is blocked" not in result.stdout
    assert (
        "published flow 'welcome' version 1" in dripstone("flow", "publish-draft", "welcome").stdout
    )
    dripstone("flow", "publish-draft", "welcome", code=2)  # nothing left to publish


def test_the_flow_file_publish_still_works_and_is_idempotent(dripstone):
    assert "version 1" in dripstone("flow", "publish", str(SAMPLE_FLOW)).stdout
    assert "version 1" in dripstone("flow", "publish", str(SAMPLE_FLOW)).stdout


def test_lifecycle_commands_and_their_refusals(dripstone, tmp_path):
    dripstone("flow", "save", str(SAMPLE_FLOW))
    refused = dripstone("flow", "pause", "welcome", "--no-journeys", code=2)
    assert "cannot pause flow 'welcome': it is draft" in refused.stderr
    assert "(draft -> paused)" in refused.stderr
    dripstone("flow", "publish-draft", "welcome")
    assert "is now paused" in dripstone("flow", "pause", "welcome", "--no-journeys").stdout
    assert (
        "(paused -> paused)"
        in dripstone("flow", "pause", "welcome", "--no-journeys", code=2).stderr
    )
    assert "is now published" in dripstone("flow", "resume", "welcome", "--no-journeys").stdout
    assert "is now archived" in dripstone("flow", "archive", "welcome", "--no-journeys").stdout
    for action in ("pause", "resume", "archive"):
        assert (
            "it is archived" in dripstone("flow", action, "welcome", "--no-journeys", code=2).stderr
        )
    assert "(archived -> draft)" in dripstone("flow", "save", str(SAMPLE_FLOW), code=2).stderr
    assert (
        "there is no flow 'ghost'"
        in dripstone("flow", "pause", "ghost", "--no-journeys", code=2).stderr
    )
    listed = dripstone("flow", "list").stdout
    assert "welcome" in listed and "archived" in listed


def test_versions_and_diff(dripstone, tmp_path):
    dripstone("flow", "publish", str(SAMPLE_FLOW))
    changed = sample_document(name="Welcome drip v2")
    changed["steps"][0]["subject"] = "Hello there!"
    changed["steps"].insert(1, {"id": "vip-tag", "kind": "add_tag", "tag": "vip"})
    dripstone("flow", "save", write(tmp_path, "v2.yaml", changed))
    dripstone("flow", "publish-draft", "welcome")

    table = dripstone("flow", "versions", "welcome").stdout
    assert "1 " in table and "2 (live)" in table and "UTC" in table
    assert " 9 " in table and " 10 " in table

    diff = dripstone("flow", "diff", "welcome", "1", "2").stdout.splitlines()
    assert diff == [
        '~ name: "Welcome drip" -> "Welcome drip v2"',
        "~ steps[welcome-email].subject: \"Welcome, {{ first_name | default('friend') }}!\" "
        '-> "Hello there!"',
        f"+ steps[+vip-tag]: (none) -> {json.dumps(get_vip_tag(dripstone))}",
    ]
    same = dripstone("flow", "diff", "welcome", "2", "2").stdout
    assert "are the same" in same
    assert "has no version 3" in dripstone("flow", "diff", "welcome", "1", "3", code=2).stderr


def get_vip_tag(_dripstone) -> dict:
    return Flow.model_validate(
        {
            "id": "x",
            "trigger": {"event": "form.submitted"},
            "steps": [{"id": "vip-tag", "kind": "add_tag", "tag": "vip"}],
        }
    ).model_dump(mode="json")["steps"][0]


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_export_then_import_gives_an_equal_flow(dripstone, tmp_path, engine, suffix):
    dripstone("flow", "publish", str(SAMPLE_FLOW))
    exported = tmp_path / f"welcome.{suffix}"
    dripstone("flow", "export", "welcome", "-o", exported)
    text = exported.read_text()
    assert "version" not in (json.loads(text) if suffix == "json" else yaml.safe_load(text))

    dripstone("flow", "import", exported)
    with engine.connect() as conn:
        record = get_flow(conn, "welcome")
        v1 = get_version(conn, "welcome", 1)
    imported, problems = parse_flow(record.draft)
    assert problems == []
    assert imported == v1.model_copy(update={"version": 0, "published_at": None}) == SAMPLE
    # Publishing the round-tripped document changes nothing, so it is no new version.
    assert "version 1" in dripstone("flow", "publish-draft", "welcome").stdout


def test_export_to_stdout_picks_version_and_format(dripstone, tmp_path):
    dripstone("flow", "publish", str(SAMPLE_FLOW))
    dripstone("flow", "publish", write(tmp_path, "v2.yaml", sample_document(name="Second")))
    as_json = json.loads(
        dripstone("flow", "export", "welcome", "--version", "1", "--format", "json").stdout
    )
    assert as_json["name"] == "Welcome drip"
    assert yaml.safe_load(dripstone("flow", "export", "welcome").stdout)["name"] == "Second"
    assert "body: |" in dripstone("flow", "export", "welcome").stdout  # multi-line text as a block
    assert (
        "has no version 9"
        in dripstone("flow", "export", "welcome", "--version", "9", code=2).stderr
    )
    assert (
        "yaml or json" in dripstone("flow", "export", "welcome", "--format", "xml", code=2).stderr
    )


def test_export_of_a_draft_gives_back_the_raw_document(dripstone, tmp_path):
    dripstone("flow", "save", write(tmp_path, "broken.yaml", broken_document()))
    assert "--draft" in dripstone("flow", "export", "welcome", code=2).stderr
    exported = yaml.safe_load(dripstone("flow", "export", "welcome", "--draft").stdout)
    assert exported == broken_document()


def test_bad_files_are_errors_not_tracebacks(dripstone, tmp_path):
    missing = dripstone("flow", "save", tmp_path / "nope.yaml", code=2)
    assert missing.stderr.startswith("error: ") and "cannot read" in missing.stderr
    (tmp_path / "list.yaml").write_text("- just\n- a list\n")
    assert "mapping" in dripstone("flow", "import", tmp_path / "list.yaml", code=2).stderr
    no_id = dripstone("flow", "save", write(tmp_path, "noid.yaml", {"name": "x"}), code=2)
    assert "the draft cannot be saved" in no_id.stderr and "id" in no_id.stderr


def test_schema_is_the_flow_json_schema(dripstone, tmp_path):
    printed = json.loads(dripstone("flow", "schema").stdout)
    assert printed == json.loads(json.dumps(Flow.model_json_schema(mode="validation")))
    dripstone("flow", "schema", "-o", tmp_path / "flow.schema.json")
    assert json.loads((tmp_path / "flow.schema.json").read_text()) == printed


# --- manual enrollment refusals (the success path needs Temporal: tests/e2e) -----------


def test_enroll_refuses_a_flow_that_is_not_published(dripstone):
    dripstone("flow", "save", str(SAMPLE_FLOW))
    result = dripstone("enroll", "welcome", "c-1", code=2)
    assert result.stderr.startswith("error: flow 'welcome' is draft")
    dripstone("flow", "publish-draft", "welcome")
    dripstone("flow", "pause", "welcome", "--no-journeys")
    assert "is paused" in dripstone("enroll", "welcome", "c-1", code=2).stderr
    assert "there is no flow 'ghost'" in dripstone("enroll", "ghost", "c-1", code=2).stderr


def test_enroll_refuses_a_flow_that_does_not_allow_manual_enrollment(dripstone, tmp_path):
    closed = sample_document(enrollment={"allow_manual": False})
    dripstone("flow", "publish", write(tmp_path, "closed.yaml", closed))
    result = dripstone("enroll", "welcome", "c-1", code=2)
    assert "does not allow manual enrollment" in result.stderr


def test_enroll_refuses_a_contact_id_with_personal_data(dripstone):
    dripstone("flow", "publish", str(SAMPLE_FLOW))
    assert (
        "contact id 'me@example.com'"
        in dripstone("enroll", "welcome", "me@example.com", code=2).stderr
    )


def test_templates_are_listed_and_become_drafts_or_live_flows(dripstone, engine):
    listing = dripstone("flow", "templates").stdout
    for name in (
        "autoresponder",
        "mailing-chain",
        "nps-survey",
        "nurture-campaign",
        "reviews-request",
        "send-message",
    ):
        assert name in listing
    assert (
        "as a draft of flow 'nps-survey'" in dripstone("flow", "from-template", "nps_survey").stdout
    )
    dripstone("flow", "from-template", "send-message", "--publish")
    with engine.connect() as conn:
        assert get_flow(conn, "nps-survey").status.value == "draft"
        assert get_version(conn, "send-message", 1).id == "send-message"
    assert (
        "there is no template 'nope'" in dripstone("flow", "from-template", "nope", code=2).stderr
    )


@pytest.mark.parametrize("allowed", [False, True])
def test_internal_webhook_urls_follow_the_deployments_setting(
    dripstone, tmp_path, monkeypatch, allowed
):
    monkeypatch.setenv("DRIPSTONE_WEBHOOK_ALLOW_PRIVATE_TARGETS", str(allowed).lower())
    document = sample_document()
    document["steps"].insert(
        0, {"id": "hook", "kind": "webhook", "url": "http://127.0.0.1:8080/in"}
    )
    path = write(tmp_path, "hooked.yaml", document)
    problem = "step hook, url: webhook URL host 127.0.0.1 is a loopback address"
    if allowed:
        dripstone("flow", "validate", path)
        assert "version 1" in dripstone("flow", "publish", path).stdout
        return
    assert problem in dripstone("flow", "validate", path, code=1).stdout
    assert problem in dripstone("flow", "publish", path, code=2).stderr
    assert problem in dripstone("flow", "save", path).stdout
    assert problem in dripstone("flow", "publish-draft", "welcome", code=2).stderr


def test_enroll_refuses_an_unknown_contact(dripstone, tmp_path):
    dripstone("flow", "publish", write(tmp_path, "w.yaml", sample_document()))
    assert "contact 'nobody' is unknown" in dripstone("enroll", "welcome", "nobody", code=2).stderr


def test_a_run_script_name_no_worker_registers_is_refused(dripstone, tmp_path, monkeypatch):
    document = sample_document(
        id="scripted", steps=[{"id": "run", "kind": "run_script", "script": "sync_crm"}]
    )
    path = write(tmp_path, "scripted.yaml", document)
    dripstone("flow", "validate", path)  # no scripts module here: the workers may have one
    monkeypatch.setenv("DRIPSTONE_SCRIPTS_MODULE", "tests.fakes.scripts")
    refused = dripstone("flow", "validate", path, code=1)
    assert (
        "step run, script: no script 'sync_crm' is registered (registered: echo, greet, "
        "hold, log)"
    ) in refused.stdout + refused.stderr
    dripstone("flow", "publish", path, code=2)  # refused, as any publish with errors
    document["steps"][0]["script"] = "greet"
    dripstone("flow", "validate", write(tmp_path, "greet.yaml", document))
