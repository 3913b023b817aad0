"""All configuration, read once from the environment (DRIPSTONE_*, plus DATABASE_URL).

Defaults are the embedded set-up: a local dev server, a SQLite file under ./data and
the built-in outbox instead of real e-mail and SMS providers.
"""

from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import (
    AliasChoices,
    Field,
    PositiveFloat,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from domain.frequency import FrequencyCaps
from domain.topics import DEFAULT_TOPIC, DEFAULT_TOPICS, TOPIC_PATTERN


class _NotJson(str):
    """The text of a JSON setting that does not parse, handed on to its field's check."""


class _JsonEnvSource(EnvSettingsSource):
    """A JSON setting (a list, an object) that does not parse reaches validation as
    _NotJson, where its variable is named with the form wanted, instead of
    pydantic-settings' SettingsError (a traceback, no reason)."""

    def decode_complex_value(self, field_name, field, value):
        try:
            return super().decode_complex_value(field_name, field, value)
        except ValueError:
            return _NotJson(value)


# The form each JSON setting takes, shown when its value is no JSON.
_JSON_FORMS = {
    "api_keys": 'a list, e.g. ["key"]',
    "codec_api_keys": 'a list, e.g. ["key"]',
    "codec_cors_origins": 'a list, e.g. ["http://localhost:8233"]',
    "lead_routers": 'an object, e.g. {"sales": ["ann", "bob"]}',
    "codec_keys": 'an object, e.g. {"k1": "BASE64 OF 32 BYTES"}',
    "provider_rates": 'an object, e.g. {"sendgrid": 100}',
    "frequency_caps": 'an object, e.g. {"email": {"messages": 3, "within": "7d"}}',
    "subscription_topics": 'an object, e.g. {"news": "Newsletter"}',
}


class Settings(BaseSettings):
    # hide_input_in_errors: a validation error would otherwise print every value read,
    # API keys and tokens included.
    model_config = SettingsConfigDict(
        env_prefix="DRIPSTONE_", extra="ignore", hide_input_in_errors=True
    )

    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "DRIPSTONE_DATABASE_URL")
    )

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

    email_provider: Literal["outbox", "sendgrid"] = "outbox"
    sms_provider: Literal["outbox", "twilio"] = "outbox"
    email_from: str = "hello@dripstone.local"

    sendgrid_api_key: str | None = None
    sendgrid_base_url: str = Field(
        default="https://api.sendgrid.com", description="Override only to point at a test double."
    )
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_base_url: str | None = Field(
        default=None, description="Override only to point at a test double."
    )

    # Messaging details and provider webhooks back in (api/provider_webhooks.py).
    email_unsubscribe_url: str | None = Field(
        default=None,
        description="List-Unsubscribe https URL; merge tags allowed, e.g. "
        "https://example.com/unsubscribe/{{ contact_id }}. Also enables one-click (RFC 8058).",
    )
    email_unsubscribe_mailto: str | None = Field(
        default=None, description="List-Unsubscribe mailto address; merge tags allowed."
    )
    default_time_zone: str = Field(
        default="UTC",
        description="IANA zone for contacts whose own zone is unknown (no time "
        "zone attribute, no phone number in a single zone) and flows without their own.",
    )
    phone_default_region: str | None = Field(
        default=None, description="Region (e.g. US) for contact phones stored without +country."
    )
    twilio_status_callback_url: str | None = Field(
        default=None, description="Public URL of POST /webhooks/twilio/status, sent with each SMS."
    )
    sendgrid_webhook_public_key: str | None = Field(
        default=None, description="SendGrid Event Webhook verification key (base64 DER, ECDSA)."
    )
    webhook_public_base_url: str | None = Field(
        default=None,
        description="The https://host Twilio calls, when a proxy hides it; "
        "Twilio signs the URL it called, not the one we see.",
    )
    provider_rates: dict[
        Literal["sendgrid", "twilio", "outbox-email", "outbox-sms"], PositiveFloat
    ] = Field(
        default_factory=dict,
        description="Messages per second each provider may be sent, "
        "shared by every worker through the database, as JSON: "
        '{"sendgrid": 100, "twilio": 10}. A provider\'s 429 with Retry-After pauses it for '
        "everyone.",
    )
    frequency_caps: FrequencyCaps = Field(
        default_factory=dict,
        description="Per channel, at most N messages per contact within "
        "a window, across flows and mailings (transactional ones exempt), as JSON: "
        '{"email": {"messages": 3, "within": "7d"}}. A capped message is skipped with the '
        "reason frequency_cap.",
    )
    # Subscription topics and the preference page (api/preferences.py).
    subscription_topics: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_TOPICS),
        description="Topic id -> label shown on "
        "the preference page, as JSON; message steps and mailings name one (`topic`), and "
        "must name one of these. Always holds `general`, the topic of messages naming none.",
    )
    preference_link_key: str | None = Field(
        default=None,
        description="Fernet key(s) (Fernet.generate_key()) signing and encrypting "
        "the preference page and one-click unsubscribe links, comma-separated, newest first: "
        "links are made with the first and read with any, so to rotate put a new key in "
        "front and remove the old one once links made with it may stop working (at most "
        "preference_link_ttl_days later). With preference_base_url, every marketing email "
        "carries the links (footer and List-Unsubscribe headers).",
    )
    preference_base_url: str | None = Field(
        default=None,
        description="Public https://host of this API, where the links lead "
        "(/preferences/TOKEN, /unsubscribe/TOKEN).",
    )
    preference_link_ttl_days: int = Field(
        default=60, ge=1, le=3650, description="How long a preference link works."
    )
    sms_help_text: str = "Dripstone messages. Reply STOP to unsubscribe, START to resubscribe."

    # Call-out actions (webhook, phone call, notify team, run script).
    webhook_signing_secret: str | None = Field(
        default=None, description="HMAC-SHA256 key for X-Dripstone-Signature; unsigned when unset."
    )
    webhook_allow_private_targets: bool = Field(
        default=False,
        description="Allow webhooks and email attachments to loopback, private "
        "and link-local addresses (checked when a flow is validated, saved or published, and "
        "when its steps run).",
    )
    voice_provider: Literal["outbox", "twilio"] = "outbox"
    twilio_voice_from_number: str | None = None
    team_email: str | None = Field(default=None, description="Notify-team default address.")
    team_phone: str | None = Field(default=None, description="Notify-team default number.")
    scripts_module: str | None = Field(
        default=None, description="Module path exposing SCRIPTS = {name: callable} for run_script."
    )

    # Contact changes: lead routers hand contacts to their members in turn.
    lead_routers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="JSON, router name -> owner user ids, e.g. "
        '{"sales": ["ann", "bob"]}; add_to_lead_router assigns round-robin.',
    )

    # The HTTP API (api/) and event routing (routing/).
    api_keys: list[str] = Field(
        default_factory=list,
        description='JSON list of keys accepted as "Authorization: '
        'Bearer KEY" (or X-API-Key) on every /v1 route and the OpenAPI schema; with none set, '
        "the API refuses every request.",
    )
    dispatch_retry_initial_seconds: float = Field(
        default=1.0, gt=0, description="First retry of an event whose routing to Temporal failed."
    )
    dispatch_retry_max_seconds: float = Field(
        default=60.0, gt=0, description="Retries back off up to this interval, and never stop."
    )
    codec_keys: dict[str, str] = Field(
        default_factory=dict,
        description="JSON, key id -> base64 of 32 random bytes: the "
        "AES-256-GCM keys that encrypt every payload Dripstone puts into Temporal; every "
        "worker and API process must hold the same ones. Any listed key decrypts; new "
        "payloads use codec_current_key. Required with DATABASE_URL (processes refuse to "
        "start without). Empty, without DATABASE_URL (one machine: dev stack, demo): a key "
        "file in data_dir, created on first use.",
    )
    codec_current_key: str | None = Field(
        default=None,
        description="The key id new payloads are encrypted with (default: "
        "the last in codec_keys). Rotate in two steps: first add the new key to "
        "codec_keys in every process (not current yet), then, once all run with it, make "
        "it current; drop the old key only when no history encrypted with it can still "
        "be read (retention, replays).",
    )
    console_secure_cookie: bool | None = Field(
        default=None,
        description="Mark the console's session cookie Secure. Unset: when the "
        "request came over https; set true behind a proxy that terminates TLS, where the "
        "API itself sees http.",
    )
    codec_api_keys: list[str] = Field(
        default_factory=list,
        description='JSON list of keys accepted as "Authorization: '
        'Bearer KEY" (or X-API-Key) on /codec/encode and /codec/decode, which decrypt '
        "personal data: give them to the people and tools allowed to read it, apart from "
        "the /v1 api_keys (those are refused there). With none set (and no loopback "
        "opening), the codec routes answer 403.",
    )
    codec_open_on_loopback: bool = Field(
        default=False,
        description="Let requests from a loopback address (127.0.0.1, ::1) "
        "call the codec routes without a key: for the Web UI of `temporal server "
        "start-dev`, which cannot send one. For a developer's own machine only, never a "
        "server: anything running on the same host (or a proxy on it that does not pass "
        "the client's address) gets in too.",
    )
    codec_cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:8233", "http://127.0.0.1:8233"],
        description="Origins (the Temporal Web UI) allowed to call /codec/decode.",
    )
    max_event_payload_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Largest event payload (and "
        "contact upsert) accepted, as JSON bytes; bigger ones are refused with 422 naming "
        "`payload`, well before Temporal's own 2 MB limit on what reaches a journey.",
    )
    routing_breaker_seconds: float = Field(
        default=15.0,
        ge=0,
        description="After routing finds Temporal unreachable, events "
        "are accepted without trying for this long and left to the dispatcher.",
    )
    dispatch_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the dispatcher looks for undelivered events."
    )
    backfill_rate_per_second: float = Field(
        default=50.0, gt=0, description="Default pace of an 'enroll existing' backfill."
    )
    backfill_page_size: int = Field(
        default=200, ge=1, le=5000, description="Contacts read per backfill page."
    )
    worker_activity_threads: int = Field(
        default=16,
        ge=1,
        le=512,
        description="Activities a worker runs at once (threads); "
        "sends, webhooks and contact changes are activities.",
    )
    worker_workflow_tasks: int | None = Field(
        default=None,
        ge=2,
        le=10_000,
        description="Workflow tasks a worker runs at once; " "unset: the Temporal SDK's default.",
    )
    worker_shutdown_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="On SIGTERM, how long in-flight activities "
        "may finish before the worker stops; keep the pod's termination grace period longer.",
    )
    database_pool_size: int = Field(
        default=10, ge=1, le=500, description="PostgreSQL connections kept per process."
    )
    database_max_overflow: int = Field(
        default=10,
        ge=0,
        le=500,
        description="PostgreSQL connections opened beyond the pool " "under load, per process.",
    )
    test_server_bin: str | None = Field(
        default=None,
        description="Temporal's time-skipping test server (the wrapper "
        "toolchain/test_server.sh prints), for `dripstone flow simulate`; unset: the cached one.",
    )
    live_flows_cache_size: int = Field(
        default=1000,
        ge=1,
        description="Parsed flow versions a worker or API process keeps "
        "(the most recently used); at least the number of live flows, or those beyond it "
        "are parsed again at each routing batch.",
    )
    worker_health_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port of the worker's GET /healthz and "
        "/readyz (for liveness and readiness probes); unset: not served.",
    )

    # Telemetry (telemetry/): traces, metrics and logs.
    trace_exporter: Literal["none", "console", "memory", "otlp"] = Field(
        default="none",
        description="Where OpenTelemetry spans go: none (tracing off), console "
        "(stderr), memory (kept in the process, for tests), or otlp (OTLP over HTTP/protobuf "
        "to trace_otlp_endpoint).",
    )
    trace_otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces endpoint, e.g. "
        "http://otel-collector:4318/v1/traces; required with trace_exporter=otlp.",
    )
    trace_service_name: str = Field(default="dripstone", description="service.name on every span.")
    log_format: Literal["console", "json"] = Field(
        default="console",
        description="console: readable lines for a terminal; json: one "
        "JSON object a line (with trace_id and span_id while tracing), for production.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    api_metrics: bool = Field(
        default=True,
        description="Serve Prometheus metrics at the API's GET /metrics, "
        "without an API key (like the probes); turn off where the API faces the internet "
        "and nothing on the inside scrapes it.",
    )
    temporal_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port of the Temporal SDK's own Prometheus "
        "metrics (workflow task latency, pollers, slots) in the worker and API processes; "
        "unset: not served.",
    )

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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls,
        init_settings: PydanticBaseSettingsSource,
        env_settings,
        dotenv_settings,
        file_secret_settings,
    ):
        return (init_settings, _JsonEnvSource(settings_cls), dotenv_settings, file_secret_settings)

    @field_validator(*_JSON_FORMS, mode="before")
    @classmethod
    def _json_that_parses(cls, value, info):
        if isinstance(value, _NotJson):
            raise ValueError(f"must be JSON ({_JSON_FORMS[info.field_name]})")
        return value

    @field_validator("temporal_address")
    @classmethod
    def _address_is_host_port(cls, value: str) -> str:
        problem = temporal_address_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _temporal_tls_is_complete(self) -> "Settings":
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

    @model_validator(mode="after")
    def _providers_need_credentials(self) -> "Settings":
        if self.email_provider == "sendgrid" and not self.sendgrid_api_key:
            raise ValueError("DRIPSTONE_SENDGRID_API_KEY is required when email_provider=sendgrid")
        if self.sms_provider == "twilio":
            missing = [
                name
                for name, value in (
                    ("DRIPSTONE_TWILIO_ACCOUNT_SID", self.twilio_account_sid),
                    ("DRIPSTONE_TWILIO_AUTH_TOKEN", self.twilio_auth_token),
                )
                if not value
            ]
            if not (self.twilio_from_number or self.twilio_messaging_service_sid):
                missing.append(
                    "DRIPSTONE_TWILIO_FROM_NUMBER or DRIPSTONE_TWILIO_MESSAGING_SERVICE_SID"
                )
            if missing:
                raise ValueError(f"sms_provider=twilio needs {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _otlp_needs_endpoint(self) -> "Settings":
        if self.trace_exporter == "otlp" and not self.trace_otlp_endpoint:
            raise ValueError("DRIPSTONE_TRACE_OTLP_ENDPOINT is required when trace_exporter=otlp")
        return self

    @model_validator(mode="after")
    def _topics_and_links(self) -> "Settings":
        bad = [topic for topic in self.subscription_topics if not TOPIC_PATTERN.match(topic)]
        if bad:
            raise ValueError(
                f"DRIPSTONE_SUBSCRIPTION_TOPICS: {bad} are not topic ids "
                "(lowercase letters, digits, - and _, at most 64)"
            )
        if DEFAULT_TOPIC not in self.subscription_topics:
            raise ValueError(
                f"DRIPSTONE_SUBSCRIPTION_TOPICS must hold {DEFAULT_TOPIC!r}, the "
                "topic of messages that name none"
            )
        for position, key in enumerate(self.preference_link_keys, start=1):
            try:
                Fernet(key.encode())
            except ValueError:
                raise ValueError(
                    f"DRIPSTONE_PREFERENCE_LINK_KEY: key {position} is not a "
                    "Fernet key (32 url-safe base64-encoded bytes; several "
                    "keys are separated by commas)"
                ) from None
        url = self.preference_base_url
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError("DRIPSTONE_PREFERENCE_BASE_URL must be an absolute http(s) URL")
        return self

    @property
    def preference_link_keys(self) -> list[str]:
        """DRIPSTONE_PREFERENCE_LINK_KEY's keys, newest first (none: links are off)."""
        return [key.strip() for key in (self.preference_link_key or "").split(",") if key.strip()]

    @property
    def preference_links_enabled(self) -> bool:
        return bool(self.preference_link_keys and self.preference_base_url)

    @property
    def topic_ids(self) -> frozenset[str]:
        return frozenset(self.subscription_topics)

    @property
    def local_sends(self) -> list[Literal["email", "sms"]]:
        """Channels the embedded outbox delivers without a pace: one short database
        transaction whose idempotency key makes a retry exact, so journeys started under
        these settings send them as local activities (JourneyInput.local_sends). A paced
        send may wait long for its slot: it stays a regular activity, as do providers'."""
        providers = {"email": self.email_provider, "sms": self.sms_provider}
        return [
            channel
            for channel, provider in providers.items()
            if provider == "outbox" and f"outbox-{channel}" not in self.provider_rates
        ]

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'dripstone.db').as_posix()}"


TLS_FILES = {
    "DRIPSTONE_TEMPORAL_TLS_CA_PATH": "temporal_tls_ca_path",
    "DRIPSTONE_TEMPORAL_TLS_CERT_PATH": "temporal_tls_cert_path",
    "DRIPSTONE_TEMPORAL_TLS_KEY_PATH": "temporal_tls_key_path",
}


def settings_problems(exc: ValidationError) -> str:
    """Settings that do not validate, in one line naming each by its variable."""
    return "; ".join(
        (f"DRIPSTONE_{str(error['loc'][0]).upper()}: " if error["loc"] else "")
        + error["msg"].removeprefix("Value error, ")
        for error in exc.errors()
    )


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


def temporal_tls_problems(settings: Settings) -> list[str]:
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
