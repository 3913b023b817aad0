"""How activity results and failures become metrics (telemetry/worker_metrics.py), for
the outcomes a journey test does not reach: provider failures and mailing batches. Read
back through the same exposition /metrics serves; label values stay closed sets."""

import socket
import urllib.request

from temporalio.exceptions import ApplicationError

from domain.mailing_runs import SendBatchResult
from settings import Settings
from telemetry.sdk_metrics import runtime_for
from telemetry.state_metrics import exposition
from telemetry.worker_metrics import activity_done, activity_failed
from tests.telemetry.scrape import moved, samples


def scrape() -> dict:
    return samples(exposition(None).decode())


def test_provider_failures_are_counted_by_activity_and_kind():
    before = scrape()
    activity_failed(
        "send_email",
        ApplicationError(
            "SendGrid said 400: bad address", type="ProviderRejected", non_retryable=True
        ),
    )
    activity_failed("send_sms", ApplicationError("Twilio said 503", type="ProviderUnavailable"))
    activity_failed(
        "send_sms", ApplicationError("unknown contact", type="UnknownContact", non_retryable=True)
    )
    after = scrape()
    assert (
        moved(
            before, after, "dripstone_provider_errors_total", activity="send_email", kind="rejected"
        )
        == 1
    )
    assert (
        moved(
            before,
            after,
            "dripstone_provider_errors_total",
            activity="send_sms",
            kind="unavailable",
        )
        == 1
    )
    # A rejected send fails its step for good; a retried one is not a failed send yet.
    assert moved(before, after, "dripstone_sends_total", channel="email", outcome="failed") == 1
    assert moved(before, after, "dripstone_sends_total", channel="sms", outcome="failed") == 1


def test_a_mailing_batch_counts_its_recipients_by_outcome():
    before = scrape()
    activity_done(
        "send_mailing_batch",
        SendBatchResult(
            sent=5, duplicates=2, failed=1, skipped={"suppressed": 3, "some new reason": 1}
        ),
    )
    after = scrape()
    for outcome, count in (
        ("sent", 3),
        ("duplicate", 2),
        ("failed", 1),
        ("skipped_suppressed", 3),
        ("skipped_other", 1),
    ):
        assert (
            moved(before, after, "dripstone_mailing_recipients_total", outcome=outcome) == count
        ), outcome
    assert moved(before, after, "dripstone_mailing_batches_total") == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_sdk_serves_its_own_metrics_on_the_port_settings_give():
    port = free_port()
    settings = Settings(_env_file=None, temporal_metrics_port=port)
    assert runtime_for(settings) is runtime_for(settings)  # one runtime owns the port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        assert answer.status == 200
    assert runtime_for(Settings(_env_file=None)) is None
