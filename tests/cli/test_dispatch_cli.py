"""`dripstone dispatch list | retry | skip` against the test's database: dead letters
shown in a table with the backlog's counts, put back in line, or given up on."""

from datetime import UTC, datetime

from projections.dispatches import set_aside
from projections.event_store import ingest
from tests.api.test_v1_dispatch import dead_letter, dispatch_rows
from tests.cli.test_flow_cli import dripstone  # noqa: F401  (the fixture)
from tests.journey_harness import event


def test_dead_letters_are_listed_retried_and_skipped(dripstone, engine):  # noqa: F811
    assert "no dead letters" in dripstone("dispatch", "list").stdout
    dead_letter(engine, "cli-dl-1", "cli-ann", "journey [x] refused the event")
    dead_letter(engine, "cli-dl-2", "cli-bob", "payload too large")
    dead_letter(engine, "cli-dl-3", "cli-cy")  # waiting, not dead

    listed = dripstone("dispatch", "list").stdout
    for column in ("event id", "contact", "type", "attempts", "reason", "dead since"):
        assert column in listed
    assert "cli-dl-1" in listed and "cli-ann" in listed and "custom" in listed
    assert "journey [x] refused the event" in listed  # brackets shown, not read as markup
    assert "cli-dl-2" in listed and "payload too large" in listed
    assert "cli-dl-3" not in listed
    assert "1 waiting to be routed (0 failing), 2 dead letter(s)" in listed
    paged = dripstone("dispatch", "list", "--limit", "1").stdout
    assert "cli-dl-1" in paged and "cli-dl-2" not in paged
    assert "dripstone dispatch list --after" in paged

    assert "retrying cli-dl-1" in dripstone("dispatch", "retry", "cli-dl-1").stdout
    assert "skipped cli-dl-2" in dripstone("dispatch", "skip", "cli-dl-2").stdout
    assert dispatch_rows(engine) == {"cli-dl-1": False, "cli-dl-3": False}
    after = dripstone("dispatch", "list").stdout
    assert "no dead letters" in after
    assert "2 waiting to be routed (1 failing), 0 dead letter(s)" in after


def test_ids_that_are_not_dead_letters_are_named_and_fail_the_command(dripstone, engine):  # noqa: F811
    dead_letter(engine, "cli-dl-4", "cli-dee", "gone")
    dead_letter(engine, "cli-dl-5", "cli-eve", "gone")
    ingest(engine, [event("cli-fay", "custom", {"name": "x"}, event_id="cli-dl-6")], dispatch=True)
    failed = dripstone("dispatch", "retry", "cli-dl-4", "cli-dl-6", "cli-nothing", code=2)
    assert "retrying cli-dl-4" in failed.stdout
    assert "not a dead letter: cli-dl-6" in failed.stderr
    assert "not a dead letter: cli-nothing" in failed.stderr
    assert "2 of 3 event id(s) are not dead letters" in failed.stderr
    # The dead letter named with them was retried all the same.
    assert dispatch_rows(engine) == {"cli-dl-4": False, "cli-dl-5": True, "cli-dl-6": False}
    assert "skipped cli-dl-5" in dripstone("dispatch", "skip", "cli-dl-5").stdout
    assert "not a dead letter: cli-dl-5" in dripstone("dispatch", "skip", "cli-dl-5", code=2).stderr
    with engine.begin() as conn:
        set_aside(conn, "cli-dl-6", "gone", datetime.now(UTC))
    assert "cli-dl-6" in dripstone("dispatch", "list").stdout
    dripstone("dispatch", "retry", code=2)  # at least one id is needed
