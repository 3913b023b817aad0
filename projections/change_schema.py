"""Read models for the contact changes journeys make (offers, memberships, lists, notes,
CRM activities, orders, transactions, lead routing), plus the lead routers' turn
counters. Same metadata and conventions as projections.schema, whose READ_MODELS
includes CHANGE_READ_MODELS (kept apart so each file stays small). Every read model leads its key with contact_id, its first lookup."""

from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table, Text

from projections.metadata import NAME, metadata
from projections.types import UtcDateTime

# One offer per contact and product: setting it again updates it; removal keeps the
# last terms with active = false. Two last-writer registers, so arrival order never
# matters: `active` (changed_at, set and removal) and the terms (terms_changed_at, set
# only), so a removal projected before an older set still ends with that set's terms.
contact_offers = Table(
    "contact_offers",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("product", String(NAME), primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("discount_percent", Float),
    Column("discount_amount", Float),
    Column("expires_at", UtcDateTime),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("terms_changed_at", UtcDateTime),
)

memberships = Table(
    "memberships",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("site", String(NAME), primary_key=True),
    Column("access", String(20), nullable=False),  # enabled | suspended | disabled
    Column("changed_at", UtcDateTime, nullable=False),
)

# Broadcast lists, static selections, projects and fulfillment lists alike.
list_memberships = Table(
    "list_memberships",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("list_type", String(20), primary_key=True),
    Column("list_id", String(NAME), primary_key=True),
    Column("member", Boolean, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)

# One row per event: the event id keeps a replayed note or activity from appearing twice.
contact_notes = Table(
    "contact_notes",
    metadata,
    Column("event_id", String(200), primary_key=True),
    Column("contact_id", String(128), nullable=False),
    Column("text", Text, nullable=False),
    Column("flow_id", String(64)),
    Column("step_id", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "contact_id", "created_at"),
)

crm_activities = Table(
    "crm_activities",
    metadata,
    Column("activity_id", String(200), primary_key=True),  # the creating event's id
    Column("contact_id", String(128), nullable=False),
    Column("activity", String(20), nullable=False),  # task | follow_up | request | sale
    Column("title", String(300), nullable=False),
    Column("type", String(NAME)),
    Column("due_at", UtcDateTime),
    Column("assignee", String(128)),  # null: unassigned
    Column("status", String(50), nullable=False),
    Column("priority", String(10), nullable=False),
    Column("category", String(NAME)),
    Column("message", Text),
    Column("amount", Float),
    Column("flow_id", String(64)),
    Column("step_id", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "contact_id", "created_at"),
)

# Status is last writer by occurred_at; the order's details are written by whichever of
# its events carries them, so a cancellation projected before its order keeps both.
orders = Table(
    "orders",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("order_id", String(NAME), primary_key=True),
    Column("product", String(NAME)),
    Column("amount", Float),
    Column("currency", String(10)),
    Column("recurring", Boolean),
    Column("status", String(20), nullable=False),  # open | cancelled
    Column("changed_at", UtcDateTime, nullable=False),
)

transactions = Table(
    "transactions",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("transaction_id", String(NAME), primary_key=True),
    Column("order_id", String(NAME)),
    Column("amount", Float),
    Column("currency", String(10)),
    Column("status", String(20), nullable=False),  # collections | recharge_requested | paid
    Column("changed_at", UtcDateTime, nullable=False),
)

# Which owner each lead router gave the contact (the owner attribute follows too).
lead_assignments = Table(
    "lead_assignments",
    metadata,
    Column("contact_id", String(128), primary_key=True),
    Column("router", String(NAME), primary_key=True),
    Column("owner", String(128), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)

CHANGE_READ_MODELS = (
    contact_offers,
    memberships,
    list_memberships,
    contact_notes,
    crm_activities,
    orders,
    transactions,
    lead_assignments,
)

# --- bookkeeping (not rebuilt from events) -----------------------------------------

# Round-robin state per router: how many contacts it has assigned. Bumped in the same
# transaction as the assignment's append, so a rolled-back or retried step takes no turn.
lead_router_turns = Table(
    "lead_router_turns",
    metadata,
    Column("router", String(NAME), primary_key=True),
    Column("turns", Integer, nullable=False),
)
