"""Where a flow may send the worker: webhook URLs and attachment downloads.

A URL is written by a marketer, so without rules it could aim the worker at its own
network: the cloud metadata service, an admin port on loopback, a database on the LAN.
The rules on addresses live here, pure (no DNS, no I/O), so that validation refuses a
literal host at save and publish with exactly the rule the worker's run-time guard
(activities/webhook_targets.py) applies to every address a name resolves to.

A literal host has many spellings: `127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`
(the inet_aton forms a resolver accepts), `[::1]`, `[::ffff:127.0.0.1]`, `0.0.0.0`,
fullwidth digits. All of them are read here as the address they mean.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = ("http", "https")

# Names that always mean this machine (RFC 6761) or a cloud's metadata service.
INTERNAL_NAMES = frozenset(
    {
        "localhost",
        "metadata",
        "metadata.google.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)

# Metadata services outside the loopback, link-local and private ranges (Oracle Cloud's
# 192.0.0.192 counts as global to Python's ipaddress), and the rest of the IETF
# protocol-assignment block it sits in.
_METADATA = {ipaddress.ip_address("192.0.0.192"), ipaddress.ip_address("100.100.100.200")}
_NON_PUBLIC_V4 = (ipaddress.ip_network("192.0.0.0/24"), ipaddress.ip_network("100.64.0.0/10"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

ALLOW_PRIVATE_HINT = (
    "requests to internal networks are refused unless "
    "DRIPSTONE_WEBHOOK_ALLOW_PRIVATE_TARGETS is set"
)


def refusal(address: Address) -> str | None:
    """Why an address is not a public one (loopback, link-local, private, cloud
    metadata, non-public), or None if it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    reason = _own_refusal(address)
    if reason is None and isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one (6to4, NAT64) is judged as itself.
        embedded = address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = _own_refusal(embedded)
    return reason


def _own_refusal(address: Address) -> str | None:
    if address in _METADATA:
        return "cloud metadata"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"  # 169.254.169.254, the usual metadata service, is here
    if address.is_private:
        return "private"
    if isinstance(address, ipaddress.IPv4Address) and any(address in n for n in _NON_PUBLIC_V4):
        return "non-public"
    if (
        address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or not address.is_global
    ):
        return "non-public"
    return None


def literal_address(host: str) -> Address | None:
    """The address a URL's host spells literally, in any spelling a resolver or browser
    accepts; None for a name (which only DNS can answer)."""
    host = unicodedata.normalize("NFKC", host).strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    host = host.split("%", 1)[0]  # an IPv6 zone id: fe80::1%25eth0
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    return _inet_aton(host.removesuffix("."))


_PART = re.compile(r"0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*")


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """IPv4 the way inet_aton (and so getaddrinfo) reads it: one to four parts, each
    decimal, octal (leading 0) or hex (0x); the last part fills the remaining bytes."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_PART.fullmatch(p) for p in parts):
        return None
    numbers = [
        int(p[2:] or "0", 16) if p.startswith("0x") else int(p, 8) if p.startswith("0") else int(p)
        for p in parts
    ]
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(parts)):
        return None
    value = 0
    for n in leading:
        value = value << 8 | n
    return ipaddress.IPv4Address(value << 8 * (5 - len(parts)) | last)


def url_problem(url: str, what: str, *, allow_private: bool = False) -> tuple[str, str] | None:
    """(code, message) for a URL the worker must not be sent to, or None.

    Codes: `bad_url` (scheme, unreadable or non-literal host), `private_target` (a
    literal host, or a name, that always means an internal address; skipped when
    `allow_private`). Merge tags may fill a webhook's path and query, but its scheme and
    host must be literal so a contact's data can never choose where the request goes."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError as exc:
        return "bad_url", f"{what} {url!r} cannot be read: {exc}"
    if parts.scheme not in SCHEMES:
        return "bad_url", f"{what} must start with http:// or https://, not {url!r}"
    netloc = parts.netloc or ""
    if not host or "{" in netloc or "}" in netloc:
        return "bad_url", f"{what} needs a literal host name"
    if any(c.isspace() or c == "\\" or unicodedata.category(c).startswith("C") for c in netloc):
        return "bad_url", f"{what} has a space, backslash or control character in its host"
    if allow_private:
        return None
    name = unicodedata.normalize("NFKC", host).lower().removesuffix(".")
    if name in INTERNAL_NAMES or name.endswith(".localhost"):
        return "private_target", (
            f"{what} host {host!r} always means this machine or the "
            f"cloud metadata service; {ALLOW_PRIVATE_HINT}"
        )
    address = literal_address(host)
    if address is not None and (reason := refusal(address)) is not None:
        spelled = "" if str(address) == host else f" ({address})"
        return "private_target", (
            f"{what} host {host}{spelled} is a {reason} address; " f"{ALLOW_PRIVATE_HINT}"
        )
    return None
