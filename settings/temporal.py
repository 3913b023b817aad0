"""How to reach Temporal: the frontend's address and namespace, TLS or Temporal Cloud's
API key (codec/client.py connects with these), and the task queue; each checked when
settings are read, naming the variable."""

from pathlib import Path

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)


class TemporalSettings(BaseModel):
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    # Reaching a TLS cluster or Temporal Cloud (codec/client.py connects with these).
    temporal_tls: bool | None = Field(
        default=None,
        description="Connect to Temporal over TLS. Unset: on when any "
        "temporal_tls_* path, the server name or the API key is set (Temporal Cloud only "
        "speaks TLS), off otherwise. false with an API key sends the key in plain text: only "
        "for a TLS-terminating sidecar on the same host.",
    )
    temporal_tls_ca_path: Path | None = Field(
        default=None,
        description="PEM file of the CA that signed the Temporal server's "
        "certificate; unset: the system's trusted roots (enough for Temporal Cloud).",
    )
    temporal_tls_cert_path: Path | None = Field(
        default=None,
        description="PEM file of this client's certificate (mutual TLS), "
        "with temporal_tls_key_path.",
    )
    temporal_tls_key_path: Path | None = Field(
        default=None, description="PEM file of the private key of temporal_tls_cert_path."
    )
    temporal_tls_server_name: str | None = Field(
        default=None,
        description="Name to verify the server's certificate against, when "
        "it is not the host of temporal_address (e.g. an IP address or a proxy).",
    )
    temporal_api_key: SecretStr | None = Field(
        default=None,
        description='API key sent as "authorization: Bearer KEY" on every '
        "call to Temporal (Temporal Cloud API keys); never logged.",
    )
    task_queue: str = "dripstone-journeys"
    temporal_ui_port: int = 8233

    @field_validator(
        "temporal_tls_ca_path",
        "temporal_tls_cert_path",
        "temporal_tls_key_path",
        "temporal_tls_server_name",
        "temporal_api_key",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value):
        # An env var left empty by a template (`${KEY:-}`) means "not given", not "." or "".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("temporal_address")
    @classmethod
    def _address_is_host_port(cls, value: str) -> str:
        problem = temporal_address_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _temporal_tls_is_complete(self) -> "TemporalSettings":
        problems = temporal_tls_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def temporal_tls_enabled(self) -> bool:
        if self.temporal_tls is not None:
            return self.temporal_tls
        return any(
            value is not None
            for value in (
                self.temporal_tls_ca_path,
                self.temporal_tls_cert_path,
                self.temporal_tls_key_path,
                self.temporal_tls_server_name,
                self.temporal_api_key,
            )
        )


TLS_FILES = {
    "DRIPSTONE_TEMPORAL_TLS_CA_PATH": "temporal_tls_ca_path",
    "DRIPSTONE_TEMPORAL_TLS_CERT_PATH": "temporal_tls_cert_path",
    "DRIPSTONE_TEMPORAL_TLS_KEY_PATH": "temporal_tls_key_path",
}


def temporal_address_problem(address: str) -> str | None:
    """Why `address` is not a Temporal frontend host:port, or None. Checked when settings
    are read (and for a command's --address): the SDK would reject it only at connect
    (at the first call, for a lazy client), with a ValueError naming no setting."""
    if not address.strip():
        return "empty: give the Temporal frontend's host:port, e.g. localhost:7233"
    if "://" in address:
        return (
            f"{address!r} has a scheme: give host:port only (TLS is "
            "DRIPSTONE_TEMPORAL_TLS, not https://)"
        )
    if any(character.isspace() for character in address):
        return f"{address!r} contains a space: give host:port, e.g. localhost:7233"
    host, colon, port = address.rpartition(":")
    if not colon or "]" in port:  # no port (the SDK's default), or "[::1]"
        return None
    if not host:
        return f"{address!r} has no host: give host:port, e.g. localhost:7233"
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        return f"{address!r}: the port must be a number from 1 to 65535"
    return None


def temporal_tls_problems(settings: TemporalSettings) -> list[str]:
    """Checked when settings are read, so a process with a half-configured TLS stops at
    start naming the setting, instead of failing a handshake later with the SDK's words."""
    problems = []
    cert, key = settings.temporal_tls_cert_path, settings.temporal_tls_key_path
    if (cert is None) != (key is None):
        given, missing = (
            ("DRIPSTONE_TEMPORAL_TLS_CERT_PATH", "DRIPSTONE_TEMPORAL_TLS_KEY_PATH")
            if key is None
            else ("DRIPSTONE_TEMPORAL_TLS_KEY_PATH", "DRIPSTONE_TEMPORAL_TLS_CERT_PATH")
        )
        problems.append(
            f"{given} is set but {missing} is not: a client certificate needs both "
            "DRIPSTONE_TEMPORAL_TLS_CERT_PATH and DRIPSTONE_TEMPORAL_TLS_KEY_PATH"
        )
    tls_only = [
        env
        for env, name in (
            *TLS_FILES.items(),
            ("DRIPSTONE_TEMPORAL_TLS_SERVER_NAME", "temporal_tls_server_name"),
        )
        if getattr(settings, name) is not None
    ]
    if settings.temporal_tls is False and tls_only:
        problems.append(
            f"DRIPSTONE_TEMPORAL_TLS is false but {', '.join(tls_only)} "
            "only apply over TLS: unset them or DRIPSTONE_TEMPORAL_TLS"
        )
    for env, name in TLS_FILES.items():
        path = getattr(settings, name)
        if path is not None and (problem := _pem_problem(path)):
            problems.append(f"{env}: {problem}")
    return problems


def _pem_problem(path: Path) -> str | None:
    try:
        content = path.read_bytes()
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if b"-----BEGIN " not in content:
        return f"{path} is not a PEM file (no -----BEGIN line)"
    return None
