"""The Temporal client every Dripstone process (worker, API, CLI, dev stack) connects
with: the configured address and namespace, TLS and API key, and the data converter of
codec.converter. The one place that calls Client.connect, so a TLS cluster or Temporal
Cloud is reached the same way by all. Kept apart from the worker's composition root so
a command that only reads from Temporal does not load every activity and workflow."""

from temporalio.client import Client
from temporalio.service import TLSConfig

from codec.converter import data_converter
from settings import Settings
from telemetry.sdk_metrics import runtime_for
from telemetry.tracing import client_interceptors


class TemporalUnreachable(RuntimeError):
    """Connecting failed; the message says where to and which settings shaped the
    attempt. A RuntimeError, as the SDK's own connect failure is, so callers that retry
    or report on that (the dev stack, `dripstone journeys`) keep doing so."""


def is_connect_failure(exc: BaseException) -> bool:
    """Our connect's error, or the SDK's own from a lazy client's first call (it names
    no settings: a lazy client connects only then)."""
    return isinstance(exc, TemporalUnreachable) or (
        isinstance(exc, RuntimeError) and str(exc).startswith("Failed client connect")
    )


def tls_config(settings: Settings) -> TLSConfig | bool:
    """False (plain text), or what to verify the server with and present to it."""
    if not settings.temporal_tls_enabled:
        return False

    def read(path) -> bytes | None:
        return path.read_bytes() if path is not None else None

    return TLSConfig(
        server_root_ca_cert=read(settings.temporal_tls_ca_path),
        domain=settings.temporal_tls_server_name,
        client_cert=read(settings.temporal_tls_cert_path),
        client_private_key=read(settings.temporal_tls_key_path),
    )


def connection_summary(settings: Settings) -> str:
    """How this process connects, naming the settings to change; no secret in it."""
    if not settings.temporal_tls_enabled:
        key = " with DRIPSTONE_TEMPORAL_API_KEY" if settings.temporal_api_key else ""
        return (
            f"in plain text{key} (a TLS cluster or Temporal Cloud needs "
            "DRIPSTONE_TEMPORAL_TLS=true or the DRIPSTONE_TEMPORAL_TLS_* settings)"
        )
    ca = settings.temporal_tls_ca_path or "the system's trusted roots"
    cert = (
        f"{settings.temporal_tls_cert_path} and DRIPSTONE_TEMPORAL_TLS_KEY_PATH="
        f"{settings.temporal_tls_key_path}"
        if settings.temporal_tls_cert_path
        else "none (a server that requires mutual TLS closes the connection without one)"
    )
    name = settings.temporal_tls_server_name or "the host of DRIPSTONE_TEMPORAL_ADDRESS"
    key = "set" if settings.temporal_api_key else "not set"
    return (
        f"over TLS: server CA DRIPSTONE_TEMPORAL_TLS_CA_PATH={ca}, client certificate "
        f"DRIPSTONE_TEMPORAL_TLS_CERT_PATH={cert}, server name "
        f"DRIPSTONE_TEMPORAL_TLS_SERVER_NAME={name}, DRIPSTONE_TEMPORAL_API_KEY {key}"
    )


async def connect(settings: Settings, lazy: bool = False, sdk_metrics: bool = False) -> Client:
    """`lazy`: connect on first use, so a process that takes events in (API, CLI) starts
    and stores them while Temporal is down; their dispatch records route them later.
    `sdk_metrics`: serve the SDK's metrics on temporal_metrics_port (the worker and API
    processes; a CLI command beside them on the same host must not take that port).
    With tracing on, starts and signals carry the caller's trace into the workflow."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    # Built before the try: their own errors (codec keys, TLS files) name their settings and
    # must not be reworded as an address problem.
    converter, tls = data_converter(settings), tls_config(settings)
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=converter,
            lazy=lazy,
            tls=tls,
            api_key=api_key,
            interceptors=client_interceptors(settings),
            runtime=runtime_for(settings) if sdk_metrics else None,
        )
    except ValueError as exc:
        # The SDK's words for an address it cannot parse (settings.temporal_address_problem
        # turns away the usual ones before this): never a traceback.
        raise TemporalUnreachable(
            f"DRIPSTONE_TEMPORAL_ADDRESS {settings.temporal_address!r} is not an address "
            f"Temporal's client accepts: {exc}"
        ) from exc
    except RuntimeError as exc:
        raise TemporalUnreachable(
            f"could not connect to Temporal at {settings.temporal_address} (namespace "
            f"{settings.temporal_namespace}) {connection_summary(settings)}: {exc}"
        ) from exc
