"""Merge tags ({{ first_name }}, {{ city | default("there") }}) rendered in Jinja2's sandbox.

A missing value must never leak the raw placeholder into a customer's inbox, so
undefined names raise unless the template gives a default.

Templates are written by marketers, not by us, so they get a small language:

* Only allow-listed filters, tests, globals (`range`, `dict`) and methods (string case
  and search methods, `dict.get/items/keys/values`, `loop.cycle/changed`); no macros,
  includes or imports; no attribute starting with `_`; no `str.format`.
* Nothing callable is ever printed: `{{ ''.upper }}` is an error, not
  `<built-in method upper ...>`.
* Nothing grows without bound: `*`, `+`, `**`, `%`, `~`, `join` and `replace` refuse a
  result over MAX_BUILD_CHARS before building it; the rendered text is capped per field
  (subject, SMS text, body, webhook body) and rendering time is capped too.

`check_template` applies the same rules without rendering, so validation refuses at save
and publish whatever the worker would refuse when the step runs; every render applies
them again (a flow published before a rule existed is still held to it). Every refusal
is a MergeTagError with a message that says what to change.
"""

from domain.merge_tags.fields import (
    CONTACT_FIELDS,
    contact_context,
    defaulted_fields,
    referenced_fields,
    referenced_names,
)
from domain.merge_tags.limits import (
    BODY_MAX_CHARS,
    DEFAULT_MAX_CHARS,
    MAX_BUILD_CHARS,
    MAX_FORMAT_WIDTH,
    MAX_INT_BITS,
    MAX_RANGE,
    MAX_TOTAL_BUILD_CHARS,
    RENDER_SECONDS,
    SMS_TEXT_MAX_CHARS,
    SUBJECT_MAX_CHARS,
    URL_MAX_CHARS,
    WEBHOOK_BODY_MAX_CHARS,
    MergeTagError,
    max_chars_for,
)
from domain.merge_tags.rendering import TemplateIssue, check_template, render

__all__ = [
    "BODY_MAX_CHARS",
    "CONTACT_FIELDS",
    "DEFAULT_MAX_CHARS",
    "MAX_BUILD_CHARS",
    "MAX_FORMAT_WIDTH",
    "MAX_INT_BITS",
    "MAX_RANGE",
    "MAX_TOTAL_BUILD_CHARS",
    "RENDER_SECONDS",
    "SMS_TEXT_MAX_CHARS",
    "SUBJECT_MAX_CHARS",
    "URL_MAX_CHARS",
    "WEBHOOK_BODY_MAX_CHARS",
    "MergeTagError",
    "TemplateIssue",
    "check_template",
    "contact_context",
    "defaulted_fields",
    "max_chars_for",
    "referenced_fields",
    "referenced_names",
    "render",
]
