"""cli.templates_command: listing and loading the ready-made flows."""

import pytest

from cli.templates_command import (
    InvalidTemplate,
    TemplateError,
    UnknownTemplate,
    list_templates,
    load_template,
    template_names,
)
from domain.flow import Flow

EXPECTED = [
    "autoresponder",
    "mailing-chain",
    "nps-survey",
    "nurture-campaign",
    "reviews-request",
    "send-message",
]


def test_lists_every_shipped_template_with_its_description():
    listed = list_templates()
    assert [name for name, _ in listed] == EXPECTED
    assert all(description and "\n" not in description for _, description in listed)
    assert dict(listed)["nps-survey"].startswith("Texts customers tagged nps-due")


@pytest.mark.parametrize("name", EXPECTED)
def test_loads_each_template_as_a_draft_flow(name):
    flow = load_template(name)
    assert isinstance(flow, Flow)
    assert flow.id == name.replace("_", "-")
    assert flow.version == 0


def test_accepts_the_flow_id_spelling_and_the_file_name():
    assert (
        load_template("nps-survey")
        == load_template("nps_survey")
        == load_template("nps_survey.yaml")
    )


@pytest.mark.parametrize("name", ["nope", "../cli/samples/welcome", "/etc/passwd", ""])
def test_unknown_names_are_refused(name):
    with pytest.raises(UnknownTemplate, match="known: autoresponder"):
        load_template(name)


def test_a_template_with_errors_is_refused_with_its_problems(tmp_path):
    (tmp_path / "broken.yaml").write_text(
        "id: broken\ntrigger: {event: nothing.happened}\n"
        "steps:\n  - {id: s, kind: send_sms, text: ''}\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidTemplate) as caught:
        load_template("broken", tmp_path)
    assert {p.code for p in caught.value.problems} == {"unknown_event", "missing_setting"}


def test_unparseable_files_still_list_and_fail_to_load_clearly(tmp_path):
    (tmp_path / "bad.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    (tmp_path / "good.yaml").write_text("id: good\ndescription: Fine.\n", encoding="utf-8")
    assert list_templates(tmp_path) == [("bad", "(unreadable template)"), ("good", "Fine.")]
    with pytest.raises(TemplateError, match="(?i)not valid yaml"):
        load_template("bad", tmp_path)


def test_a_missing_directory_has_no_templates(tmp_path):
    assert template_names(tmp_path / "absent") == []
    assert list_templates(tmp_path / "absent") == []
