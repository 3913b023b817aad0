"""The console's session: after the login form took an API key, a cookie that proves it
without carrying it. The cookie is `<expires>.<signature>`: an HMAC of the expiry under
a secret derived from the key (HMAC of a fixed label under the key), so

- the key never travels again and cannot be read back from the cookie;
- a session lives only while its key is configured: removing a key from
  DRIPSTONE_API_KEYS ends every session made with it, with no session store;
- it expires on its own, whatever the browser does with the cookie.

Checked against every accepted key, each in constant time, like api.auth.key_problem."""

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

COOKIE = "dripstone_console"
LIFETIME = timedelta(hours=12)
_LABEL = b"dripstone console session v1"


def _signature(key: str, expires: int) -> str:
    secret = hmac.new(key.encode(), _LABEL, hashlib.sha256).digest()
    mac = hmac.new(secret, str(expires).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def issue(key: str, now: datetime) -> str:
    """A cookie value for a key the caller has already checked."""
    expires = int((now + LIFETIME).timestamp())
    return f"{expires}.{_signature(key, expires)}"


def valid(cookie: str | None, accepted: list[str], now: datetime) -> bool:
    if not cookie or not accepted:
        return False
    expires_text, _, signature = cookie.partition(".")
    if not expires_text.isdigit() or len(expires_text) > 12 or not signature:
        return False
    expires = int(expires_text)
    if expires <= now.timestamp():
        return False
    matched = False
    for key in accepted:
        matched |= hmac.compare_digest(signature.encode(), _signature(key, expires).encode())
    return matched
