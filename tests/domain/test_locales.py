"""Locale variants: which variant a contact's locale chooses, and what validation says of
every variant (its tag, its merge tags, named `locales.<tag>.<field>`)."""

import pytest

from domain.locales import canonical, choose, localize, lookup_chain
from domain.mailing import Mailing
from domain.steps.messaging import PhoneCall, SendEmail
from domain.validation import parse_flow
from domain.validation.mailing import parse_mailing

VARIANTS = {"pt": "pt", "pt-BR": "pt-BR", "zh_hant": "zh-Hant", "en": "en"}


@pytest.mark.parametrize(
    "tag,spelled",
    [
        ("pt-BR", "pt-BR"),
        ("pt_br", "pt-BR"),
        ("PT-br", "pt-BR"),
        (" pt ", "pt"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("sl-rozaj", "sl-rozaj"),
        ("de-CH-1901", "de-CH-1901"),
        ("sr_Latn", "sr-Latn"),
    ],
)
def test_tags_are_read_in_any_case_with_dashes_or_underscores(tag, spelled):
    assert canonical(tag) == spelled


@pytest.mark.parametrize(
    "tag",
    [
        "",
        "p",
        "portuguese",
        "pt-",
        "pt--BR",
        "pt-BRA",
        "pt.BR",
        "x-private",
        "en-US-u-ca-buddhist",
        "pt-BR ;drop",
        "12",
        "pt-BR-",
        "ptBR",
    ],
)
def test_anything_else_is_not_a_tag(tag):
    assert canonical(tag) is None


@pytest.mark.parametrize(
    "contact,chosen",
    [
        ("pt-BR", "pt-BR"),
        ("pt_BR", "pt-BR"),
        ("PT-br", "pt-BR"),
        ("pt-PT", "pt"),
        ("pt", "pt"),
        ("pt-Latn-AO", "pt"),
        ("zh-Hant-TW", "zh_hant"),
        ("zh-Hans", None),
        ("fr", None),
        ("fr-CA", None),
        (None, None),
        ("", None),
        ("not a locale", None),
        (42, None),
    ],
)
def test_the_contact_gets_the_most_specific_variant_there_is_else_the_default(contact, chosen):
    assert choose(VARIANTS, contact) == chosen


def test_a_less_specific_contact_locale_never_gets_a_more_specific_variant():
    assert choose({"pt-BR": 1}, "pt") is None
    assert lookup_chain("zh-Hant-TW") == ["zh-Hant-TW", "zh-Hant", "zh"]


def test_a_variant_replaces_only_the_fields_it_gives_the_rest_falls_back_along_the_chain():
    step = SendEmail.model_validate(
        {
            "id": "m",
            "subject": "Hi",
            "body": "Hello",
            "locales": {
                "pt": {"subject": "Oi"},
                "pt-BR": {"body": "Olá"},
                "de": {"template_id": "d-123"},
            },
        }
    )
    key, brazilian = localize(step, step.locales, "pt-BR")
    assert (key, brazilian.subject, brazilian.body) == ("pt-BR", "Oi", "Olá")
    assert localize(step, step.locales, "pt-PT")[1].model_dump(include={"subject", "body"}) == {
        "subject": "Oi",
        "body": "Hello",
    }
    key, german = localize(step, step.locales, "de-AT")
    assert (key, german.template_id, german.subject) == ("de", "d-123", "Hi")
    assert localize(step, step.locales, "fr") == (None, step)


def test_a_call_variant_replaces_the_whole_script():
    step = PhoneCall.model_validate(
        {
            "id": "c",
            "script": [{"action": "say", "text": "Hello"}, {"action": "hangup"}],
            "locales": {"es": {"script": [{"action": "say", "text": "Hola"}]}},
        }
    )
    assert [a.action for a in localize(step, step.locales, "es-MX")[1].script] == ["say"]


def test_a_mailing_step_carries_its_variants_to_the_message_it_sends():
    mailing = Mailing.model_validate(
        {
            "id": "m",
            "steps": [
                {
                    "id": "e",
                    "channel": "email",
                    "subject": "S",
                    "body": "B",
                    "locales": {"pt": {"subject": "Assunto"}},
                },
                {"id": "s", "channel": "sms", "text": "T", "locales": {"pt-BR": {"text": "Texto"}}},
            ],
        }
    )
    email, sms = (step.as_message_step() for step in mailing.steps)
    assert email.locales["pt"].subject == "Assunto" and sms.locales["pt-BR"].text == "Texto"


def flow_problems(*steps, known_fields=frozenset({"first_name"})):
    flow, problems = parse_flow(
        {"id": "f", "trigger": {"event": "form.submitted"}, "steps": list(steps)}, set(known_fields)
    )
    return [(p.step_id, p.field, p.code, p.severity) for p in problems]


def test_every_variants_merge_tags_and_tag_are_checked_naming_the_field():
    found = flow_problems(
        {
            "id": "mail",
            "kind": "send_email",
            "subject": "Hi {{ first_name }}",
            "body": "Hello",
            "locales": {
                "pt-BR": {"subject": "Olá {{ first_name", "body": "{{ nickname }}"},
                "pt_br": {"subject": "Oi"},
                "Portuguese": {"subject": "Oi"},
                "fr": {},
            },
        },
        {
            "id": "text",
            "kind": "send_sms",
            "text": "Hi",
            "max_segments": 1,
            "locales": {"de": {"text": "{{ first_name | nope }}"}, "es": {"text": "ж" * 80}},
        },
        {
            "id": "call",
            "kind": "phone_call",
            "script": [{"action": "say", "text": "Hi"}],
            "locales": {
                "it": {
                    "script": [
                        {"action": "say", "text": " "},
                        {"action": "say", "text": "{% import 'x' as y %}"},
                    ]
                }
            },
        },
    )
    assert found == [
        ("mail", "locales.pt_br", "duplicate_locale", "error"),
        ("mail", "locales.Portuguese", "invalid_locale", "error"),
        ("mail", "locales.fr", "empty_locale", "warning"),
        ("mail", "locales.pt-BR.subject", "bad_merge_tag", "error"),
        ("mail", "locales.pt-BR.body", "unknown_merge_field", "error"),
        ("text", "locales.de.text", "unsafe_merge_tag", "error"),
        ("text", "locales.es.text", "sms_too_long", "warning"),
        ("call", "locales.it.script.0.text", "missing_setting", "error"),
        ("call", "locales.it.script.1.text", "unsafe_merge_tag", "error"),
    ]


def test_good_variants_raise_nothing_and_unknown_variant_fields_are_named():
    assert (
        flow_problems(
            {
                "id": "mail",
                "kind": "send_email",
                "subject": "Hi",
                "body": "B",
                "locales": {"pt-BR": {"subject": "Olá {{ first_name }}"}, "pt": {"body": "Oi"}},
            }
        )
        == []
    )
    assert flow_problems(
        {
            "id": "mail",
            "kind": "send_email",
            "subject": "Hi",
            "body": "B",
            "locales": {"pt": {"subjct": "Oi"}},
        }
    ) == [("mail", "locales.pt.subjct", "invalid", "error")]


def test_mailing_variants_are_checked_naming_the_step_path():
    _, problems = parse_mailing(
        {
            "id": "m",
            "steps": [
                {
                    "id": "main",
                    "channel": "email",
                    "subject": "S",
                    "body": "B",
                    "locales": {
                        "pt-BR": {"subject": "{{ first_name", "text": "wrong channel"},
                        "english please": {"body": "B"},
                    },
                },
                {
                    "id": "sms",
                    "channel": "sms",
                    "text": "T",
                    "when": {"delay": "1d"},
                    "locales": {"pt": {"text": "{{ nickname }}"}},
                },
            ],
        },
        {"first_name"},
    )
    assert [(p.field, p.code) for p in problems] == [
        ("steps.0.locales.pt-BR.text", "invalid"),
        ("steps.0.locales.english please", "invalid_locale"),
        ("steps.0.locales.pt-BR.subject", "bad_merge_tag"),
        ("steps.1.locales.pt.text", "unknown_merge_field"),
    ]
