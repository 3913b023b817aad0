"""The product's own Prometheus metrics, counted where things happen.

Label values are closed sets (event types, channels, outcome codes, provider names,
routes as templates): never a contact id, address, flow or mailing id, or free text,
so no personal data reaches a metrics backend and no label grows without bound.

Each process counts its own; the scrape-time gauges (telemetry/state_metrics.py) read
the shared database, so they agree whichever replica answers the scrape."""

from prometheus_client import Counter, Histogram

EVENTS_INGESTED = Counter(
    "dripstone_events_ingested",
    "Events taken in from outside (API, webhooks, CLI).",
    ["type", "result"],
)  # result: appended | duplicate
EVENTS_ROUTED = Counter(
    "dripstone_events_routed",
    "Routing results: one per journey an event reached or "
    "enrolled (no_journey: it reached none).",
    ["outcome", "path"],
)
ROUTING_SECONDS = Histogram(
    "dripstone_routing_seconds",
    "Time to route one event to its journeys (index, trigger " "match, Temporal calls).",
    ["path"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ROUTING_DEFERRED = Counter(
    "dripstone_routing_deferred",
    "Events whose routing failed and was left to the " "dispatcher to retry.",
    ["path"],
)
DEAD_LETTERS = Counter(
    "dripstone_dead_letters", "Events set aside as dead letters: no retry can deliver them."
)
JOURNEYS_STARTED = Counter(
    "dripstone_journeys_started",
    "Journeys started, by what started them: an event "
    "(trigger) or a manual enrollment (CLI, API, backfill, enroll_in_flow).",
    ["by"],
)
JOURNEYS_ENDED = Counter(
    "dripstone_journeys_ended", "Journeys that ended, by final status.", ["status"]
)
SENDS = Counter(
    "dripstone_sends",
    "Journey messages by channel and outcome (sent, duplicate, " "skipped_<reason>, failed).",
    ["channel", "outcome"],
)
PROVIDER_ERRORS = Counter(
    "dripstone_provider_errors",
    "Provider (or webhook target) calls that failed, by "
    "activity: rejected (4xx, not retried) or unavailable (5xx, 429, timeouts: retried).",
    ["activity", "kind"],
)
MAILING_RECIPIENTS = Counter(
    "dripstone_mailing_recipients",
    "Mailing recipients handled by batches, by outcome.",
    ["outcome"],
)
MAILING_BATCHES = Counter("dripstone_mailing_batches", "Mailing send batches run.")
HTTP_REQUESTS = Counter(
    "dripstone_http_requests",
    "API requests by route template, method and status.",
    ["route", "method", "status"],
)

# A Routed.outcome, SendOutcome.reason_code or JourneyStatus outside these (a newer
# release, a bug) is counted as "other" rather than minting a label.
ROUTED_OUTCOMES = frozenset({"enrolled", "not_reentered", "signalled", "no_journey"})
SKIP_REASONS = frozenset(
    {
        "no_address",
        "merge_value",
        "suppressed",
        "unsubscribed_topic",
        "frequency_cap",
        "rejected",
        "gave_up",
    }
)
END_STATUSES = frozenset({"completed", "exited", "converted"})


def bounded(value: str | None, allowed: frozenset[str]) -> str:
    return value if value in allowed else "other"
