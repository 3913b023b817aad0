"""`dripstone db migrate` is the command that migrates; every other command that opens the
database refuses one whose schema is behind (or newer and unknown) with the message in
red and exit status 1, never a traceback. On a database of the test's own: a new SQLite
file, or a new PostgreSQL database on that lane."""

import pytest

from projections.database import make_engine
from projections.schema_version import head
from tests.cli.invoke import dripstone_run
from tests.projections.test_schema_version import PREVIOUS, revisions, stamp, upgrade_to

HEAD = head()


@pytest.fixture
def fresh(fresh_database_url):
    engine = make_engine(fresh_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def dripstone(fresh_database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("DRIPSTONE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")

    return dripstone_run


def test_db_migrate_prints_the_revision_before_and_after(dripstone, fresh):
    first = dripstone("db", "migrate")
    assert first.stdout.splitlines() == [
        "revision before: none (empty database)",
        f"revision after:  {HEAD} (migrated)",
    ]
    again = dripstone("db", "migrate")
    assert again.stdout.splitlines() == [
        f"revision before: {HEAD}",
        f"revision after:  {HEAD} (already up to date)",
    ]
    assert revisions(fresh) == [HEAD]


@pytest.mark.parametrize(
    "command",
    [
        ["flow", "list"],
        ["db", "rebuild"],
        ["event", "send", "--type", "form.submitted", "--contact", "c-1"],
        ["worker"],
        ["api"],
    ],
)
def test_commands_refuse_a_database_that_is_behind(dripstone, fresh, command):
    upgrade_to(fresh, PREVIOUS)
    refused = dripstone(*command, code=1)
    assert refused.stderr == (
        f"error: database is at revision {PREVIOUS}, this release needs "
        f"{HEAD}: run `dripstone db migrate`\n"
    )
    assert refused.stdout == ""
    assert revisions(fresh) == [PREVIOUS]


def test_db_migrate_brings_a_database_that_is_behind_up(dripstone, fresh):
    upgrade_to(fresh, PREVIOUS)
    migrated = dripstone("db", "migrate")
    assert migrated.stdout.splitlines() == [
        f"revision before: {PREVIOUS}",
        f"revision after:  {HEAD} (migrated)",
    ]
    assert revisions(fresh) == [HEAD]
    assert "Flows" in dripstone("flow", "list").stdout


def test_a_database_no_command_migrated_is_refused(dripstone):
    refused = dripstone("flow", "list", code=1)
    assert refused.stderr == (
        f"error: database has no schema yet, this release needs "
        f"revision {HEAD}: run `dripstone db migrate`\n"
    )


def test_a_database_a_newer_release_migrated_is_refused_even_by_db_migrate(dripstone, fresh):
    dripstone("db", "migrate")
    stamp(fresh, "9999_newer")
    for command in (["flow", "list"], ["db", "migrate"]):
        refused = dripstone(*command, code=1)
        assert refused.stderr.startswith(
            "error: database is at revision 9999_newer, which " "this release does not know"
        )
    assert revisions(fresh) == ["9999_newer"]
