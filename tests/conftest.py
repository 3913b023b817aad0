"""Shared fixtures: a migrated database per test (SQLite file, or the PostgreSQL lane
when DATABASE_URL is set), and real Temporal servers started from the binaries that
`make test` installs (their paths arrive in DRIPSTONE_TEST_SERVER_BIN and
DRIPSTONE_TEMPORAL_BIN)."""

import logging
import os
import uuid
from datetime import timedelta

import pytest
import pytest_asyncio
import structlog
from sqlalchemy import text
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from codec.converter import data_converter
from codec.keys import new_key
from projections.database import make_engine, migrate
from projections.tables import metadata
from settings import Settings
from workflows import search_attributes as sa


@pytest.fixture(autouse=True)
def _logging_as_it_was():
    """A test that starts the API or the worker in-process configures logging for the
    whole process (telemetry.logs); later tests, a CLI command's --json output among
    them, must not inherit it."""
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    yield
    root.handlers, root.level = handlers, level
    structlog.configure(**config)


# One codec key for the whole run, in the environment: every client the tests make (the
# Temporal environments' and any a CLI command or the API makes through worker.connect)
# encrypts and decrypts alike, as a deployment's processes share DRIPSTONE_CODEC_KEYS.
# Required on the PostgreSQL lane: with DATABASE_URL set, no process makes a key of its own.
os.environ.setdefault("DRIPSTONE_CODEC_KEYS", f'{{"test-1": "{new_key()}"}}')


def _tool(variable: str) -> str:
    path = os.environ.get(variable)
    if not path or not os.access(path, os.X_OK):
        pytest.fail(
            f"{variable} is not set to an executable; run the tests with `make test`, "
            "which installs the Temporal tools and exports their paths",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str | None:
    return os.environ.get("DATABASE_URL") or None


@pytest.fixture(scope="session")
def _postgres_engine(postgres_url):
    if postgres_url is None:
        yield None
        return
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(tmp_path, _postgres_engine):
    """A migrated, empty database: a fresh SQLite file, or truncated PostgreSQL tables."""
    if _postgres_engine is not None:
        tables = ", ".join(t.name for t in metadata.sorted_tables)
        with _postgres_engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        yield _postgres_engine
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'dripstone.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_database_url(tmp_path, postgres_url):
    """The URL of an empty database of the test's own, never migrated: a new SQLite file,
    or on the PostgreSQL lane a new database beside DATABASE_URL's, dropped afterwards."""
    if postgres_url is None:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    admin = make_engine(postgres_url)
    name = f"dripstone_fresh_{uuid.uuid4().hex[:12]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, task_queue=f"tq-{uuid.uuid4()}")


async def _start_time_skipping(converter=None) -> WorkflowEnvironment:
    """`converter`: the recorders of stored histories pass the plain pydantic one, so a
    history replays whatever codec keys a later test run has (the codec lets
    unencrypted payloads through)."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=converter or data_converter(Settings()),
        test_server_existing_path=_tool("DRIPSTONE_TEST_SERVER_BIN"),
        test_server_startup_timeout=timedelta(seconds=60),  # slow to start on a busy machine
    )
    # The dev server registers these from the command line; the test server needs the
    # operator API, as a real cluster would.
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={key.name: key.indexed_value_type for key in sa.ALL},
        )
    )
    return env


@pytest_asyncio.fixture(scope="session")
async def time_skipping_env():
    env = await _start_time_skipping()
    yield env
    await env.shutdown()


@pytest_asyncio.fixture
async def own_time_skipping_env():
    """A test server of the test's own. For abandoned children that finish after their
    parent: the Java test server then never lets its clock run again, which would stall
    every later timer test sharing the session's server."""
    env = await _start_time_skipping()
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def dev_server_env():
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(Settings()),
        dev_server_existing_path=_tool("DRIPSTONE_TEMPORAL_BIN"),
        dev_server_startup_timeout=timedelta(seconds=60),
        search_attributes=sa.ALL,
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()
