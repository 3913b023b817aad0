"""Signed, expiring links to a contact's preference page and one-click unsubscribe.

A token is a Fernet token (AES-128-CBC + HMAC-SHA256, with its issue time) over the
contact id and, for one-click unsubscribes, the message's topic: encrypted, so neither
the contact id nor anything else about the contact can be read from a URL, and
authenticated, so a changed token is refused. No login: holding the link is the right
to change that contact's preferences, until it expires."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken


class LinkRefused(Exception):
    """The token was altered, made with another key, or is no token at all."""


class LinkExpired(LinkRefused):
    """The token is genuine but older than the links' lifetime."""


@dataclass(frozen=True)
class LinkClaims:
    contact_id: str
    topic: str | None = None


class PreferenceLinks:
    def __init__(self, key: str, base_url: str, ttl: timedelta):
        self._fernet = Fernet(key.encode())
        self.base_url = base_url.rstrip("/")
        self.ttl = ttl

    @classmethod
    def from_settings(cls, settings) -> PreferenceLinks | None:
        """None unless both the key and the public URL are set: links are then off."""
        if not (settings.preference_link_key and settings.preference_base_url):
            return None
        return cls(settings.preference_link_key, settings.preference_base_url,
                   timedelta(days=settings.preference_link_ttl_days))

    def token(self, contact_id: str, topic: str | None = None, *,
              issued_at: int | None = None) -> str:
        """`issued_at` (Unix seconds): for tests of expiry; otherwise now."""
        claims = json.dumps({"c": contact_id, **({"t": topic} if topic else {})},
                            separators=(",", ":")).encode()
        if issued_at is not None:
            return self._fernet.encrypt_at_time(claims, issued_at).decode()
        return self._fernet.encrypt(claims).decode()

    def read(self, token: str) -> LinkClaims:
        """The claims of a genuine, unexpired token; LinkExpired or LinkRefused otherwise."""
        raw = token.encode()
        try:
            data = self._fernet.decrypt(raw, ttl=int(self.ttl.total_seconds()))
        except InvalidToken:
            try:
                self._fernet.decrypt(raw)  # genuine but too old?
            except InvalidToken:
                raise LinkRefused("this link is not valid") from None
            raise LinkExpired("this link has expired") from None
        try:
            claims = json.loads(data)
            return LinkClaims(contact_id=str(claims["c"]), topic=claims.get("t"))
        except (ValueError, KeyError, TypeError):
            raise LinkRefused("this link is not valid") from None

    def page_url(self, contact_id: str) -> str:
        return f"{self.base_url}/preferences/{self.token(contact_id)}"

    def unsubscribe_url(self, contact_id: str, topic: str) -> str:
        return f"{self.base_url}/unsubscribe/{self.token(contact_id, topic)}"
