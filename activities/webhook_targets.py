"""Where a webhook may go. A flow's URL is written by a marketer, so without a guard it
could aim the worker at its own network (the cloud metadata service, an admin port on
loopback, a database on the private LAN).

The guard lives in the httpx transport, not before the request: the host is resolved
once, every address it resolves to is checked, and the connection goes to one of those
checked addresses (the URL's host swapped for the IP, with the original Host header and
TLS server name kept). A DNS answer that changes between a check and the connect
(DNS rebinding) therefore cannot slip a private address past the check.

Which addresses are refused is decided by domain.targets.refusal, the rule flow
validation also applies to literal hosts at save and publish. Attachment downloads
(activities/compose.py) go through this same transport.
"""

import ipaddress
import socket
from collections.abc import Callable

import httpx

from domain.targets import ALLOW_PRIVATE_HINT, Address, literal_address, refusal

__all__ = ["Address", "GuardedTransport", "Resolver", "TargetRefused", "refusal", "system_resolver"]

Resolver = Callable[[str, int], list[str]]


class TargetRefused(Exception):
    """The request must not be sent at all; retrying cannot change that."""


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        # Not refused for good: a name that does not resolve now may resolve later.
        raise httpx.ConnectError(f"cannot resolve {host!r}: {exc}") from None
    seen: dict[str, None] = {}
    for *_, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]).split("%", 1)[0], None)
    return list(seen)


class GuardedTransport(httpx.BaseTransport):
    """Resolves, checks every address, then connects to a checked address only."""

    def __init__(
        self,
        allow_private: bool = False,
        resolver: Resolver = system_resolver,
        inner: httpx.BaseTransport | None = None,
    ):
        self.allow_private = allow_private
        self.resolver = resolver
        # No retries here: the activity's retry policy owns retrying, with backoff.
        self.inner = inner or httpx.HTTPTransport(retries=0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise TargetRefused(f"scheme {url.scheme!r} is not allowed; use http or https")
        host = url.host
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = self.addresses(host, port)
        last_error: httpx.TransportError | None = None
        for address in addresses:
            pinned = httpx.Request(
                request.method,
                url.copy_with(host=str(address)),
                headers=request.headers,
                stream=request.stream,
                # The certificate is checked against the name, not the IP we dialled.
                extensions={**request.extensions, "sni_hostname": host},
            )
            try:
                return self.inner.handle_request(pinned)
            except httpx.ConnectError as exc:
                last_error = exc  # try the next checked address, like a normal client
        assert last_error is not None
        raise last_error

    def addresses(self, host: str, port: int) -> list[Address]:
        # A host that spells an address (127.1, 0x7f000001) is judged as that address
        # before any lookup, as flow validation judges it, whatever a resolver makes of it.
        spelled = literal_address(host)
        if spelled is not None:
            self._check(host, spelled)
        try:
            literal = ipaddress.ip_address(host)
            found = [literal]
        except ValueError:
            found = [ipaddress.ip_address(a) for a in self.resolver(host, port)]
        if not found:
            raise httpx.ConnectError(f"{host!r} resolved to no address")
        # Every address, not just the first: a name that resolves to a public and a
        # private address could otherwise be steered to the private one.
        for address in found:
            self._check(host, address)
        return found

    def _check(self, host: str, address: Address) -> None:
        if self.allow_private:
            return
        reason = refusal(address)
        if reason is not None:
            raise TargetRefused(
                f"{host} resolves to {address}, a {reason} address; {ALLOW_PRIVATE_HINT}"
            )

    def close(self) -> None:
        self.inner.close()
