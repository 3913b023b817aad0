"""Mailings [003]: the documents and their lifecycle, and one row per recipient and step.

Not read models: like the ledger, they record what the engine did, so `rebuild` leaves
them alone. The recipient rows are what a chain's later steps read ("everyone the
previous step reached"), what counts per step are made of, and what conversions are
attributed by."""

from sqlalchemy import Column, Index, String, Table, Text

from projections.metadata import metadata
from projections.types import Json, UtcDateTime

mailings = Table(
    "mailings",
    metadata,
    Column("mailing_id", String(64), primary_key=True),
    Column("name", String(200)),
    # The document as accepted (it parsed and validated); edits are refused once sent.
    Column("document", Json, nullable=False),
    Column("status", String(20), nullable=False),  # domain.mailing.MailingStatus
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("current_step", String(64)),
)

# Status: pending (selected, waiting for its send time), sent, skipped (with its reason),
# failed (the provider refused it). Selection writes the rows of a step once, in contact
# order, so a resumed selection continues where it stopped; sending claims the due ones
# in batches. `converts_until` is sent_at plus the step's conversion window, written at
# send time so counting conversions needs no date arithmetic in SQL.
mailing_recipients = Table(
    "mailing_recipients",
    metadata,
    Column("mailing_id", String(64), primary_key=True),
    Column("step_id", String(64), primary_key=True),
    Column("contact_id", String(128), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("reason", String(40)),
    Column("detail", Text),
    Column("due_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("converts_until", UtcDateTime),
    Index(None, "mailing_id", "step_id", "status", "due_at"),
    Index(None, "contact_id", "mailing_id"),
)

# One row per provider with a rate limit: when its next message may go. Every worker
# reserves its sends here, so the limit holds across processes (see activities/pace.py).
provider_pace = Table(
    "provider_pace",
    metadata,
    Column("provider", String(40), primary_key=True),
    Column("next_free_at", UtcDateTime, nullable=False),
)
