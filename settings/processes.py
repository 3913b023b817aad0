"""How the processes run: API keys, the dispatcher, the codec server and console, the
worker's threads and shutdown, the database pool, health, traces, logs and metrics."""

from typing import Literal

from pydantic import (
    BaseModel,
    Field,
    model_validator,
)


class ProcessSettings(BaseModel):
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

    @model_validator(mode="after")
    def _otlp_needs_endpoint(self) -> "ProcessSettings":
        if self.trace_exporter == "otlp" and not self.trace_otlp_endpoint:
            raise ValueError("DRIPSTONE_TRACE_OTLP_ENDPOINT is required when trace_exporter=otlp")
        return self
