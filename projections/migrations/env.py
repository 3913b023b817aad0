"""Alembic environment: runs on the connection handed over by projections.database.migrate,
or on DATABASE_URL when invoked through the alembic command line."""

from alembic import context

from projections.tables import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from projections.database import make_engine
        from settings import Settings

        with make_engine(Settings().resolved_database_url).begin() as conn:
            _run_on(conn)
    else:
        _run_on(connection)


def _run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run()
