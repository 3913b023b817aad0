"""Signed, expiring links to a contact's preference page and one-click unsubscribe.

A token is a Fernet token (AES-128-CBC + HMAC-SHA256, with its issue time) over the
contact id and, for one-click unsubscribes, the message's topic: encrypted, so neither
the contact id nor anything else about the contact can be read from a URL, and
authenticated, so a changed token is refused. It is bound to the purpose
`preferences` (activities/signed_tokens.py; links sent before tokens named a purpose
carry none and are still read, until they expire), and made with the newest of the
deployment's keys but read with any of them, so keys rotate without breaking links
already sent. No login: holding the link is the right to change that contact's
preferences, until it expires."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from activities.signed_tokens import PurposeTokens, TokenExpired, TokenRefused

PURPOSE = "preferences"
# What a test send links to instead of a contact's page: it names no contact, so it can
# change nothing (the page answers that the link is not valid).
TEST_SEND_TOKEN = "test-send-link-changes-nothing"


class LinkRefused(Exception):
    """The token was altered, made with another key or for another purpose, or is no token."""


class LinkExpired(LinkRefused):
    """The token is genuine but older than the links' lifetime."""


@dataclass(frozen=True)
class LinkClaims:
    contact_id: str
    topic: str | None = None


class PreferenceLinks:
    def __init__(self, keys: str | Sequence[str], base_url: str, ttl: timedelta):
        """`keys`: Fernet keys, newest first (one key: a string)."""
        self._tokens = PurposeTokens([keys] if isinstance(keys, str) else keys, PURPOSE)
        self.base_url = base_url.rstrip("/")
        self.ttl = ttl
        self._inert = False

    @classmethod
    def from_settings(cls, settings) -> PreferenceLinks | None:
        """None unless both the key and the public URL are set: links are then off."""
        if not settings.preference_links_enabled:
            return None
        return cls(
            settings.preference_link_keys,
            settings.preference_base_url,
            timedelta(days=settings.preference_link_ttl_days),
        )

    def token(
        self, contact_id: str, topic: str | None = None, *, issued_at: int | None = None
    ) -> str:
        """`issued_at` (Unix seconds): for tests of expiry; otherwise now."""
        if self._inert:
            return TEST_SEND_TOKEN
        return self._tokens.seal({"c": contact_id, **({"t": topic} if topic else {})}, issued_at)

    def read(self, token: str) -> LinkClaims:
        """The claims of a genuine, unexpired token; LinkExpired or LinkRefused otherwise."""
        try:
            claims = self._tokens.open(token, int(self.ttl.total_seconds()))
        except TokenExpired:
            raise LinkExpired("this link has expired") from None
        except TokenRefused:
            raise LinkRefused("this link is not valid") from None
        contact_id, topic = claims.get("c"), claims.get("t")
        if not isinstance(contact_id, str) or not (topic is None or isinstance(topic, str)):
            raise LinkRefused("this link is not valid")
        return LinkClaims(contact_id=contact_id, topic=topic)

    def page_url(self, contact_id: str) -> str:
        return f"{self.base_url}/preferences/{self.token(contact_id)}"

    def unsubscribe_url(self, contact_id: str, topic: str) -> str:
        return f"{self.base_url}/unsubscribe/{self.token(contact_id, topic)}"

    def for_test_sends(self) -> PreferenceLinks:
        """Links of the same shape that name no contact (see TEST_SEND_TOKEN)."""
        inert = copy.copy(self)
        inert._inert = True
        return inert
