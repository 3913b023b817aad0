"""Journey workflow ids and per-send idempotency keys."""

from domain.flow import ReEntry
from domain.journey import idempotency_key, journey_workflow_id


def test_never_and_after_exit_use_one_id_per_flow_and_contact():
    # One running journey per contact: Temporal's id uniqueness enforces the re-entry rule.
    for re_entry in (ReEntry.NEVER, ReEntry.AFTER_EXIT):
        assert journey_workflow_id("welcome", "c1", re_entry, "evt-1") == "journey/welcome/c1"
        assert journey_workflow_id("welcome", "c1", re_entry, "evt-2") == "journey/welcome/c1"


def test_default_re_entry_is_never():
    assert journey_workflow_id("welcome", "c1") == "journey/welcome/c1"


def test_always_adds_the_enrollment_as_suffix():
    first = journey_workflow_id("welcome", "c1", ReEntry.ALWAYS, "evt-1")
    second = journey_workflow_id("welcome", "c1", ReEntry.ALWAYS, "evt-2")
    assert first == "journey/welcome/c1/evt-1"
    assert second == "journey/welcome/c1/evt-2"


def test_always_without_enrollment_has_no_suffix():
    assert journey_workflow_id("welcome", "c1", ReEntry.ALWAYS) == "journey/welcome/c1"


def test_ids_differ_by_flow_and_contact():
    ids = {journey_workflow_id(f, c) for f in ("a", "b") for c in ("c1", "c2")}
    assert len(ids) == 4


def test_idempotency_key_format():
    key = idempotency_key("journey/welcome/c1", "evt-1", "welcome-email", 1)
    assert key == "journey/welcome/c1/evt-1/welcome-email/1"


def test_idempotency_key_changes_with_enrollment_and_visit():
    wid = "journey/welcome/c1"
    keys = {
        idempotency_key(wid, enrollment, "s", visit)
        for enrollment in ("evt-1", "evt-2")
        for visit in (1, 2)
    }
    assert len(keys) == 4
    assert idempotency_key(wid, "evt-1", "s", 1) == idempotency_key(wid, "evt-1", "s", 1)
