"""Flow validation of experiment steps and holdouts: every problem names its field."""

import pytest

from domain.validation import parse_flow


def flow(step: dict | None = None, **extra) -> dict:
    experiment = {
        "id": "test",
        "kind": "experiment",
        "variants": [
            {
                "name": "a",
                "weight": 50,
                "subject": "A {{ first_name | default('there') }}",
                "body": ".",
            },
            {"name": "b", "weight": 50, "subject": "B", "body": "."},
        ],
        "metric": {"kind": "opened", "window": "2d"},
        "winner": {"after": "test_period", "test_period": "3d"},
    }
    return {
        "id": "ab",
        "trigger": {"event": "form.submitted"},
        "steps": [
            {**experiment, **(step or {})},
            {"id": "bought", "kind": "goal", "goal": {"kind": "has_tag", "tag": "customer"}},
        ],
        **extra,
    }


def problems(document: dict) -> set[tuple[str | None, str, str]]:
    _, found = parse_flow(document)
    return {(p.step_id, p.field, p.code) for p in found if p.severity == "error"}


def test_a_well_formed_experiment_and_holdout_pass():
    assert problems(flow(holdout_percent=10)) == set()
    sms = {
        "channel": "sms",
        "variants": [{"name": "x", "text": "Hi"}, {"name": "y", "text": "Yo"}],
        "metric": {"kind": "converted", "goal": "bought", "window": "7d"},
        "winner": {"after": "sample_size", "sample_size": 200},
    }
    assert problems(flow(sms)) == set()


@pytest.mark.parametrize("count", [1, 6])
def test_one_or_six_variants_are_refused(count):
    variants = [{"name": f"v{n}", "subject": "S", "body": "."} for n in range(count)]
    assert problems(flow({"variants": variants})) == {("test", "variants", "variant_count")}


def test_weights_must_be_positive():
    variants = [
        {"name": "a", "weight": 0, "subject": "A", "body": "."},
        {"name": "b", "weight": -5, "subject": "B", "body": "."},
    ]
    assert problems(flow({"variants": variants})) == {
        ("test", "variants.0.weight", "bad_weight"),
        ("test", "variants.1.weight", "bad_weight"),
    }


def test_unknown_metric_names_the_field_and_the_choices():
    _, found = parse_flow(flow({"metric": {"kind": "replied"}}))
    [problem] = found
    assert (problem.step_id, problem.field, problem.code) == (
        "test",
        "metric.kind",
        "unknown_metric",
    )
    assert "opened, clicked, converted" in problem.message


def test_variant_content_is_checked_as_the_message_it_sends():
    variants = [
        {"name": "a", "subject": "", "body": "Hi {{ first_name }"},
        {"name": "a", "subject": "B", "body": ".", "text": "sms text"},
    ]
    assert problems(flow({"variants": variants})) == {
        ("test", "variants.0.subject", "missing_setting"),
        ("test", "variants.0.body", "bad_merge_tag"),
        ("test", "variants.1.name", "duplicate_variant"),
        ("test", "variants.1.text", "wrong_channel"),
    }


def test_metric_and_rule_settings():
    assert problems(
        flow(
            {"channel": "sms", "variants": [{"name": "x", "text": "1"}, {"name": "y", "text": "2"}]}
        )
    ) == {("test", "metric.kind", "metric_needs_email")}
    assert problems(flow({"metric": {"kind": "converted", "goal": "nope"}})) == {
        ("test", "metric.goal", "unknown_goal")
    }
    assert problems(flow({"winner": {"after": "sample_size"}})) == {
        ("test", "winner.sample_size", "missing_setting")
    }
    assert problems(flow({"winner": {"after": "test_period"}})) == {
        ("test", "winner.test_period", "missing_setting")
    }


@pytest.mark.parametrize("percent", [-1, 100])
def test_holdout_percent_out_of_range(percent):
    assert problems(flow(holdout_percent=percent)) == {(None, "holdout_percent", "invalid")}


def test_each_variants_locales_are_checked_per_locale():
    variants = [
        {
            "name": "a",
            "subject": "A",
            "body": ".",
            "locales": {
                "pt-BR": {"subject": "Olá {{ first_name }"},
                "pt": {"body": "{{ nome_do_cliente }}"},
                "xx-not-a-tag!": {"subject": "?"},
                "es": {"text": "hola"},
            },
        },
        {"name": "b", "subject": "B", "body": ".", "locales": {"pt": {"subject": "B pt"}}},
    ]
    _, found = parse_flow(flow({"variants": variants}))
    assert {(p.field, p.code) for p in found if p.severity == "error"} == {
        ("variants.0.locales.pt-BR.subject", "bad_merge_tag"),
        ("variants.0.locales.xx-not-a-tag!", "invalid_locale"),
        ("variants.0.locales.es.text", "wrong_channel"),
    }
    # A field no contact has is named by its locale (with a default it would only warn).
    known = {"email", "first_name"}
    _, found = parse_flow(flow({"variants": variants}), known_fields=known)
    assert ("variants.0.locales.pt.body", "unknown_merge_field") in {
        (p.field, p.code) for p in found if p.severity == "error"
    }
