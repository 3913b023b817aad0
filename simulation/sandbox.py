"""The throwaway database a simulation runs against: a temporary SQLite file migrated to
head, holding only the simulated contacts' rows and the flows their journeys may start, copied
from the real database. Journeys
in the simulation write there (events, ledger, outbox), never to the real one, which
is only ever read."""

from pathlib import Path

from sqlalchemy import Engine, Table, select

from domain.flow import Flow
from projections.database import make_engine, migrate
from projections.tables import metadata

# Routing state and what was sent, not read models: a copied dispatch record would be
# routed again, a copied index row would make the router signal journeys that do not
# exist here, and outbox rows would show up as if the simulation had sent them.
NOT_COPIED = frozenset(
    {
        "event_dispatches",
        "journey_index",
        "journey_step_visits",
        "outbox_messages",
        "mailing_recipients",
    }
)
CHUNK = 500  # contact ids per IN (...), well under every dialect's parameter limit


def contact_tables() -> list[Table]:
    """Every table keyed by contact (read models, the contact's events, the ledger that
    frequency caps read), in dependency order."""
    return [
        table
        for table in metadata.sorted_tables
        if "contact_id" in table.c and table.name not in NOT_COPIED
    ]


def sandbox_in(
    directory: Path, source: Engine, contact_ids: list[str], flows: list[Flow] = ()
) -> Engine:
    """A migrated SQLite file in `directory` (the caller's temporary folder, removed with
    it) filled with the contacts' rows from `source`, and with `flows` as its catalogue."""
    engine = make_engine(f"sqlite:///{directory / 'simulation.db'}")
    try:
        migrate(engine)
        copy_contacts(source, engine, contact_ids)
        copy_flows(source, engine, flows)
    except BaseException:
        engine.dispose()
        raise
    return engine


def copy_contacts(source: Engine, target: Engine, contact_ids: list[str]) -> int:
    """Copy the contacts' rows; returns how many. The source is only read."""
    copied = 0
    with source.connect() as reading, target.begin() as writing:
        for table in contact_tables():
            for start in range(0, len(contact_ids), CHUNK):
                chunk = contact_ids[start : start + CHUNK]
                rows = [
                    dict(row._mapping)
                    for row in reading.execute(select(table).where(table.c.contact_id.in_(chunk)))
                ]
                if rows:
                    writing.execute(table.insert(), rows)
                    copied += len(rows)
    return copied


def copy_flows(source: Engine, target: Engine, flows: list[Flow]) -> None:
    """Each flow's catalogue row and the version given (its live one), as they are in
    `source`: a start_flow step in the simulation finds the flow it starts."""
    catalogue, documents = metadata.tables["flows"], metadata.tables["flow_versions"]
    with source.connect() as reading, target.begin() as writing:
        for flow in flows:
            [record] = (
                reading.execute(select(catalogue).where(catalogue.c.flow_id == flow.id))
                .mappings()
                .all()
            )
            [version] = (
                reading.execute(
                    select(documents).where(
                        documents.c.flow_id == flow.id, documents.c.version == flow.version
                    )
                )
                .mappings()
                .all()
            )
            writing.execute(catalogue.insert(), [{**record, "draft": None}])
            writing.execute(documents.insert(), [dict(version)])


def known_contacts(engine: Engine, contact_ids: list[str]) -> set[str]:
    """Those of `contact_ids` any event has mentioned (they have a contacts row)."""
    contacts = metadata.tables["contacts"]
    found: set[str] = set()
    with engine.connect() as conn:
        for start in range(0, len(contact_ids), CHUNK):
            found.update(
                conn.execute(
                    select(contacts.c.contact_id).where(
                        contacts.c.contact_id.in_(contact_ids[start : start + CHUNK])
                    )
                ).scalars()
            )
    return found


def copy_decisions(source: Engine, target: Engine, flow_id: str) -> None:
    """The flow's decided experiments: a simulated contact reaching a decided experiment
    step gets the winner, as a real one would (undecided ones assign by the same hash)."""
    decisions = metadata.tables["experiment_decisions"]
    with source.connect() as reading:
        rows = [
            dict(row._mapping)
            for row in reading.execute(select(decisions).where(decisions.c.flow_id == flow_id))
        ]
    if rows:
        with target.begin() as writing:
            writing.execute(decisions.insert(), rows)
