"""Merge tags: strict rendering in Jinja2's sandbox."""

import pytest

from domain.merge_tags import MergeTagError, contact_context, referenced_names, render

CONTEXT = contact_context(
    "c1", "ann@example.com", None, {"first_name": "Ann", "city": None, "visits": 3}
)


def test_context_exposes_attributes_bare_and_under_contact():
    assert CONTEXT["first_name"] == "Ann"
    assert CONTEXT["contact"]["first_name"] == "Ann"
    assert CONTEXT["email"] == "ann@example.com"
    assert CONTEXT["contact_id"] == "c1"
    # Unset values are absent, so they count as missing rather than rendering "None".
    assert "phone" not in CONTEXT and "city" not in CONTEXT["contact"]


def test_renders_attributes_and_contact_prefix():
    text = render(
        "Hi {{ first_name }} <{{ contact.email }}>, visit {{ contact.visits + 1 }}", CONTEXT
    )
    assert text == "Hi Ann <ann@example.com>, visit 4"


def test_plain_text_is_untouched_and_not_html_escaped():
    assert render("Tom & Jerry <3\n", CONTEXT) == "Tom & Jerry <3\n"
    assert render("{{ name }}", {"name": "<b>A&B</b>"}) == "<b>A&B</b>"


@pytest.mark.parametrize(
    "template, name",
    [
        ("Hi {{ last_name }}", "last_name"),
        ("Hi {{ contact.last_name }}", "last_name"),
        ("Call {{ phone }}", "phone"),
        ("In {{ city }}", "city"),
    ],
)
def test_missing_value_raises_naming_the_variable(template, name):
    with pytest.raises(MergeTagError) as info:
        render(template, CONTEXT)
    assert name in str(info.value)


def test_missing_value_in_a_condition_also_raises():
    with pytest.raises(MergeTagError):
        render("{% if vip %}VIP{% endif %}", CONTEXT)


def test_default_filter_fills_missing_values():
    assert render("Hi {{ last_name | default('there') }}", CONTEXT) == "Hi there"
    assert render("Hi {{ contact.last_name | default('friend') }}", CONTEXT) == "Hi friend"
    assert render("Hi {{ first_name | default('there') }}", CONTEXT) == "Hi Ann"


def test_bad_syntax_raises_merge_tag_error_with_line():
    with pytest.raises(MergeTagError) as info:
        render("line one\nHi {{ first_name ", CONTEXT)
    assert "line 2" in str(info.value)


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact.__class__ }}",
        "{{ contact.items.__globals__ }}",
        "{{ first_name.__init__.__globals__['os'] }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    ],
)
def test_sandbox_refuses_access_to_internals(template):
    # The sandbox refuses, and the refusal arrives as MergeTagError so that a send step
    # skips the message with a reason instead of crashing its activity.
    rendered = None
    with pytest.raises(MergeTagError):
        rendered = render(template, CONTEXT)
    assert rendered is None


def test_templates_cannot_change_the_contact_they_read():
    context = {"contact": {"first_name": "Ann"}}
    with pytest.raises(MergeTagError):
        render("{{ contact.update({'first_name': 'Eve'}) }}", context)
    assert context["contact"]["first_name"] == "Ann"


def test_referenced_names():
    assert referenced_names("Hi {{ first_name }} from {{ contact.city | default('x') }}") == {
        "first_name",
        "contact",
    }
    assert referenced_names("{% set greeting = 'Hi' %}{{ greeting }} {{ name }}") == {"name"}
    assert referenced_names("{% for t in tags %}{{ t }}{% endfor %}") == {"tags"}
    assert referenced_names("no tags at all") == set()


def test_referenced_names_rejects_bad_syntax():
    with pytest.raises(MergeTagError):
        referenced_names("{{ unclosed")


def _outcome(template: str, context: dict, max_chars: int) -> str:
    try:
        return "text: " + render(template, context, max_chars=max_chars)
    except MergeTagError as exc:
        return f"error: {exc}"


@pytest.mark.parametrize(
    "template",
    [
        "Hello {{ first_name }}!",
        "{{ a }}{{ b }}",
        "{{a}}\n",
        "{{ contact }}",
        "{{ lst }}",
        "{{ n }} {{ none }}",
        "{{ f }}",
        "{{ big }}",
        "{{ a }} {{ missing }}",
        "plain",
        "",
        "{{ self }}",
        "{{ a }}{{ self }}",
    ],
)
@pytest.mark.parametrize("max_chars", [10, 1_000_000])
def test_plain_names_render_as_jinja_does(template, max_chars):
    """Text with bare {{ name }}s renders without Jinja (mailings render one per
    recipient): the same text and the same refusals as Jinja's own path, which a
    trailing {{ '' }} forces."""
    context = {
        "first_name": "Ann",
        "a": "x" * 30,
        "b": "yy",
        "contact": {"a": 1},
        "n": 12,
        "none": None,
        "f": len,
        "big": "z" * 200_000,
        "lst": [1, "a", None],
        "self": "a contact field Jinja never reads",
    }
    assert _outcome(template, context, max_chars) == _outcome(
        template + "{{ '' }}", context, max_chars
    )
