"""Fernet tokens bound to one purpose, under a list of keys (MultiFernet), for every
use of Fernet in Dripstone: each use names its purpose, so a token made for one (a
preference link) is refused by every other, even under the same key.

Keys are newest first: tokens are made with the first and read with any, so a key is
rotated by putting the new one in front and removing the old one once no link made
with it should work any more. A token must be exactly what was issued: Fernet's base64
decoding skips characters outside the alphabet, so a token with anything appended or
slipped in would otherwise still read."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# What Fernet.encrypt returns: url-safe base64 with its padding, nothing else.
_TOKEN = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_PURPOSE = "p"
# Purposes whose tokens were issued before tokens named a purpose: their tokens without
# the claim are still read (preference links already in inboxes, RFC 8058 headers), and
# their TTL ends that window by itself. Any purpose added since requires the claim.
_ISSUED_BEFORE_PURPOSE_CLAIMS = frozenset({"preferences"})


class TokenRefused(Exception):
    """Altered, made with an unknown key or for another purpose, or no token at all."""


class TokenExpired(TokenRefused):
    """Genuine and for this purpose, but older than the time it may be used."""


class PurposeTokens:
    def __init__(self, keys: Sequence[str], purpose: str):
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        self.purpose = purpose

    def seal(self, claims: dict[str, Any], issued_at: int | None = None) -> str:
        """`issued_at` (Unix seconds): for tests of expiry; otherwise now."""
        data = json.dumps({**claims, _PURPOSE: self.purpose}, separators=(",", ":")).encode()
        if issued_at is not None:
            return self._fernet.encrypt_at_time(data, issued_at).decode()
        return self._fernet.encrypt(data).decode()

    def open(self, token: str, ttl_seconds: int) -> dict[str, Any]:
        """The claims of a genuine, unexpired token made for this purpose (without the
        purpose itself); TokenExpired or TokenRefused otherwise."""
        if not _canonical(token):
            raise TokenRefused("not a token")
        raw = token.encode()
        try:
            data = self._fernet.decrypt(raw, ttl=ttl_seconds)
        except InvalidToken:
            try:
                self._fernet.decrypt(raw)  # genuine but too old?
            except InvalidToken:
                raise TokenRefused("not a genuine token") from None
            raise TokenExpired("expired") from None
        try:
            claims = json.loads(data)
        except ValueError:
            raise TokenRefused("not a token of ours") from None
        if not isinstance(claims, dict) or not self._for_this_purpose(claims):
            raise TokenRefused(f"not a {self.purpose} token")
        claims.pop(_PURPOSE, None)
        return claims

    def _for_this_purpose(self, claims: dict[str, Any]) -> bool:
        if _PURPOSE not in claims:  # a legacy token: see _ISSUED_BEFORE_PURPOSE_CLAIMS
            return self.purpose in _ISSUED_BEFORE_PURPOSE_CLAIMS
        return claims[_PURPOSE] == self.purpose


def _canonical(token: str) -> bool:
    if not _TOKEN.fullmatch(token):
        return False
    try:
        return base64.urlsafe_b64encode(base64.urlsafe_b64decode(token)).decode() == token
    except (binascii.Error, ValueError):
        return False
