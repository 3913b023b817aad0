"""Locale variants of a message: which variant a contact gets.

A message step (and a mailing step) may carry `locales`, a mapping from a language tag
to the fields that differ in that language; the step's own fields are the default. The
contact's `locale` attribute chooses, by RFC 4647 "lookup": the tag itself, then the tag
with its last subtag cut, and so on (`pt-BR` -> `pt` -> the default). A contact tagged
`pt` never gets a `pt-BR` variant: a more specific variant is never guessed.

Tags are a strict subset of BCP 47 (language, script, region, variants; no extensions,
no private use), matched case-insensitively, with `_` accepted for `-` (`pt_BR`, as
POSIX locales and many CRMs write them). No locale library is a dependency, so the
grammar is a regular expression here.

Pure: used by workflow-facing models, validation, and the activities that compose
messages (journeys' and mailings' alike), so every path chooses the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

# The contact attribute that chooses the variant.
LOCALE_ATTRIBUTE = "locale"

# Bounds what a step may carry into a workflow's input.
MAX_LOCALES = 50

_TAG = re.compile(
    r"^(?P<language>[a-z]{2,3})"
    r"(?:[-_](?P<script>[a-z]{4}))?"
    r"(?:[-_](?P<region>[a-z]{2}|[0-9]{3}))?"
    r"(?P<variants>(?:[-_](?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*)$",
    re.IGNORECASE,
)

M = TypeVar("M", bound=BaseModel)


def canonical(tag: str) -> str | None:
    """The tag in its usual spelling (`pt-BR`, `zh-Hant-TW`, `sr-Latn`), or None when it
    is not a language tag this engine understands."""
    match = _TAG.match(tag.strip()) if isinstance(tag, str) else None
    if match is None:
        return None
    parts = [match["language"].lower()]
    if match["script"]:
        parts.append(match["script"].title())
    if match["region"]:
        parts.append(match["region"].upper())
    parts += [v.lower() for v in re.split(r"[-_]", match["variants"]) if v]
    return "-".join(parts)


def tag_problem(tag: str) -> str | None:
    """Why `tag` cannot name a locale variant, or None when it can."""
    if canonical(tag) is not None:
        return None
    return (
        f"{tag!r} is not a language tag: write a BCP 47 tag such as 'pt', 'pt-BR', "
        "'zh-Hant-TW' (language, then optional script, region and variants)"
    )


def lookup_chain(tag: str) -> list[str]:
    """The canonical tags to try for `tag`, most specific first (`pt-BR`, `pt`); empty
    when `tag` is not a language tag."""
    spelled = canonical(tag)
    if spelled is None:
        return []
    parts = spelled.split("-")
    return ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]


def matches(variants: Mapping[str, Any], locale: Any) -> list[str]:
    """The keys of `variants` along the lookup chain of `locale`, most specific first
    (`pt-BR`, then `pt`); empty for the default content. Keys are compared in canonical
    form, so `pt_br` in a document serves a contact tagged `pt-BR`. A missing or
    unreadable locale gets the default."""
    if not variants or not isinstance(locale, str):
        return []
    by_tag: dict[str, str] = {}
    for key in variants:
        spelled = canonical(key)
        if spelled is not None:
            # Validation refuses two keys for one tag; if one slipped in, the first wins.
            by_tag.setdefault(spelled.lower(), key)
    return [by_tag[tag.lower()] for tag in lookup_chain(locale) if tag.lower() in by_tag]


def choose(variants: Mapping[str, Any], locale: Any) -> str | None:
    """The key of the variant a contact whose locale is `locale` gets, or None for the
    default content."""
    found = matches(variants, locale)
    return found[0] if found else None


def localize(content: M, variants: Mapping[str, BaseModel], locale: Any) -> tuple[str | None, M]:
    """`content` (a step, a send request) in the contact's locale, and the key of the
    variant chosen (None: the default, unchanged). Fields fall back one by one along the
    same chain as the variant: a `pt-BR` variant that gives only a body takes its
    subject from `pt`, or else from the default."""
    found = matches(variants, locale)
    if not found:
        return None, content
    update: dict[str, Any] = {}
    for key in reversed(found):  # least specific first, so the most specific wins
        variant = variants[key]
        update.update(
            {
                name: getattr(variant, name)
                for name in type(variant).model_fields
                if getattr(variant, name) is not None
            }
        )
    return found[0], content.model_copy(update=update)


def contact_locale(attributes: Mapping[str, Any]) -> str | None:
    """The contact's locale attribute, if it is text."""
    value = attributes.get(LOCALE_ATTRIBUTE)
    return value if isinstance(value, str) else None
