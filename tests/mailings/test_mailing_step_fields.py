"""Each missing or misplaced piece of a mailing step is named on its own field: an email
without a body on `body` (not `subject`), an SMS without text in plain words, and a field
the step's channel does not use (`subject` on an SMS) refused naming it."""

from domain.validation.mailing import parse_mailing


def _problems(*steps) -> dict[str, str]:
    _, problems = parse_mailing(
        {"id": "m", "name": "M", "audience": {"contacts": ["c1"]}, "steps": list(steps)}
    )
    return {p.field: p.message for p in problems if p.severity == "error"}


def test_a_missing_email_body_is_named_on_body():
    assert _problems({"id": "main", "channel": "email", "subject": "Hi"}) == {
        "steps.0.body": "an email needs a body (or a template_id)"
    }
    assert set(_problems({"id": "main", "channel": "email"})) == {"steps.0.subject", "steps.0.body"}


def test_an_sms_without_text_says_so_in_plain_words():
    assert _problems({"id": "main", "channel": "sms"}) == {
        "steps.0.text": "the text of an SMS is required"
    }


def test_fields_of_the_other_channel_are_refused_by_name():
    assert _problems({"id": "main", "channel": "sms", "text": "Hi", "subject": "S"}) == {
        "steps.0.subject": "an sms step does not use subject (it takes text, sender)"
    }
    assert _problems(
        {"id": "main", "channel": "email", "subject": "S", "body": "B", "sender": "ACME"}
    ) == {
        "steps.0.sender": "an email step does not use sender (it takes subject, body, "
        "template_id, from_email, reply_to)"
    }
