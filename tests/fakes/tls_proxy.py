"""A TLS front for the plaintext Temporal dev server, as a TLS cluster or Temporal Cloud
would present itself: certificates made here (a CA, a server certificate for localhost,
a client certificate), a server socket that speaks HTTP/2 ("h2" by ALPN), requires and
verifies the client's certificate (mutual TLS), and forwards the bytes to the dev server.

It also reads the gRPC request headers going through (tests/fakes/http2_headers.py), so
a test sees what the client sent, e.g. the API key's `authorization` header."""

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.fakes.http2_headers import RequestHeaders


@dataclass(frozen=True)
class Pem:
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: str, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _write(folder: Path, stem: str, cert: x509.Certificate, key) -> Pem:
    cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Pem(cert_path, key_path)


@dataclass(frozen=True)
class Authority:
    """A certificate authority that signs a server and a client certificate."""

    pem: Pem
    name: x509.Name
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, folder: Path, stem: str = "ca") -> "Authority":
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            _builder(f"Dripstone test {stem}", _name(f"Dripstone test {stem}"), key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        return cls(_write(folder, stem, cert, key), cert.subject, key)

    def issue(self, folder: Path, stem: str, server: bool) -> Pem:
        key = ec.generate_private_key(ec.SECP256R1())
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            _builder(f"dripstone-{stem}", self.name, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        return _write(folder, stem, builder.sign(self.key, hashes.SHA256()), key)


@dataclass(frozen=True)
class Certificates:
    ca: Authority
    server: Pem
    client: Pem
    other_ca: Authority  # trusted by nobody: a client given it cannot verify the server

    @classmethod
    def create(cls, folder: Path) -> "Certificates":
        ca = Authority.create(folder)
        return cls(
            ca,
            ca.issue(folder, "server", server=True),
            ca.issue(folder, "client", server=False),
            Authority.create(folder, "other-ca"),
        )


@dataclass
class MutualTlsProxy:
    """Listens on 127.0.0.1 (port 0: any free one) and forwards to `upstream`."""

    certificates: Certificates
    upstream: tuple[str, int]
    headers: list[dict[str, str]] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _connections: set[asyncio.Task] = field(default_factory=set)

    @property
    def address(self) -> str:
        assert self._server is not None
        return f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(
            ssl.Purpose.CLIENT_AUTH, cafile=str(self.certificates.ca.pem.cert)
        )
        context.load_cert_chain(self.certificates.server.cert, self.certificates.server.key)
        context.verify_mode = ssl.CERT_REQUIRED
        context.set_alpn_protocols(["h2"])
        return context

    async def __aenter__(self) -> "MutualTlsProxy":
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", 0, ssl=self._context(), ssl_handshake_timeout=10
        )
        return self

    async def __aexit__(self, *_) -> None:
        # Clients the test made stay connected (the SDK keeps its connections until the
        # client is collected): cut them, or their tasks outlive the proxy.
        assert self._server is not None
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            headers = RequestHeaders(self.headers.append)
            await asyncio.gather(
                self._pipe(reader, up_writer, headers.feed),
                self._pipe(up_reader, writer, None),
                return_exceptions=True,
            )
        except (OSError, asyncio.CancelledError):
            pass  # the dev server gone, or the proxy closing: the client sees the socket close
        finally:
            writer.close()
            self._connections.discard(task)

    @staticmethod
    async def _pipe(reader, writer, observe) -> None:
        try:
            while data := await reader.read(65536):
                if observe is not None:
                    observe(data)
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()
