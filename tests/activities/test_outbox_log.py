"""The outbox's log line names the message by contact id and key, never by address or
rendered subject: logs are shipped and read more widely than the outbox table."""

from structlog.testing import capture_logs

from activities.outbox import Outbox
from activities.ports import EmailMessage


def test_the_outboxed_line_carries_no_address_and_no_subject(engine):
    message = EmailMessage(
        idempotency_key="k-1",
        contact_id="c-1",
        to="ana@example.com",
        from_email="hello@example.com",
        subject="Hi Ana Souza",
        body=".",
    )
    with capture_logs() as lines:
        sent = Outbox(engine, "email").send(message)
    assert sent is not None and sent.startswith("outbox-")
    [line] = [line for line in lines if line["event"] == "message.outboxed"]
    assert line["contact_id"] == "c-1" and line["key"] == "k-1"
    assert "ana@example.com" not in repr(line) and "Ana Souza" not in repr(line)
