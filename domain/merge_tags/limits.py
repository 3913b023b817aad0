"""What a merge tag may produce: each field's most characters, and what one render may
build and how long it may take."""

from __future__ import annotations


class MergeTagError(ValueError):
    pass


# Rendered output, per field: an email subject line (RFC 5322 caps a line at 998
# characters), an SMS (10 segments of 160), an email or note body, a webhook body.
SUBJECT_MAX_CHARS = 998
SMS_TEXT_MAX_CHARS = 1600
BODY_MAX_CHARS = 512 * 1024
WEBHOOK_BODY_MAX_CHARS = 256 * 1024
URL_MAX_CHARS = 8 * 1024  # webhook URL and each header value
DEFAULT_MAX_CHARS = BODY_MAX_CHARS

# Any one value a template builds on the way (a string, a list): large enough for any
# real message, small enough that building it cannot hurt the worker.
MAX_BUILD_CHARS = BODY_MAX_CHARS
MAX_TOTAL_BUILD_CHARS = 16 * MAX_BUILD_CHARS  # everything one render builds, together
MAX_RANGE = 10_000
MAX_INT_BITS = 4096
MAX_FORMAT_WIDTH = 100
RENDER_SECONDS = 2.0

_FIELD_LIMITS = {
    ("send_email", "subject"): SUBJECT_MAX_CHARS,
    ("send_email", "body"): BODY_MAX_CHARS,
    ("send_sms", "text"): SMS_TEXT_MAX_CHARS,
    ("notify_team", "subject"): SUBJECT_MAX_CHARS,
    ("notify_team", "message"): BODY_MAX_CHARS,
    ("webhook", "url"): URL_MAX_CHARS,
    ("webhook", "body"): WEBHOOK_BODY_MAX_CHARS,
}


def max_chars_for(kind: str, field: str, channel: str | None = None) -> int:
    """The most characters a step's field may render to (a render() `max_chars`)."""
    if kind == "notify_team" and field == "message" and channel == "sms":
        return SMS_TEXT_MAX_CHARS
    if kind == "webhook" and field.startswith("headers."):
        return URL_MAX_CHARS
    return _FIELD_LIMITS.get((kind, field), DEFAULT_MAX_CHARS)
