"""Experiments: who got which variant, and each experiment's stored decision (0011).

Not read models: like the ledger they record what the engine decided, so `rebuild`
leaves them alone. An assignment row is keyed by the step visit's idempotency key (the
same key its message is sent under), so a retried activity records nothing twice and
opens and clicks join on it. A decision row is written once per experiment (flow id,
step id): the first writer wins, and every later contact reads the same winner."""

from sqlalchemy import Column, Index, Integer, String, Table

from projections.metadata import metadata
from projections.types import Json, UtcDateTime

experiment_assignments = Table(
    "experiment_assignments",
    metadata,
    Column("message_key", String(400), primary_key=True),
    Column("flow_id", String(64), nullable=False),
    Column("flow_version", Integer, nullable=False),
    Column("step_id", String(64), nullable=False),
    Column("contact_id", String(128), nullable=False),
    Column("journey_id", String(1000), nullable=False),  # as journey_index.workflow_id
    Column("variant", String(100), nullable=False),
    Column("phase", String(10), nullable=False),  # test | winner
    Column("assigned_at", UtcDateTime, nullable=False),
    Index(None, "flow_id", "step_id", "phase", "variant"),
)

experiment_decisions = Table(
    "experiment_decisions",
    metadata,
    Column("flow_id", String(64), primary_key=True),
    Column("step_id", String(64), primary_key=True),
    Column("winner", String(100), nullable=False),
    Column("rule", String(20), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    # The result the decision was made on, as shown then (ExperimentResult as JSON).
    Column("result", Json, nullable=False),
)
