"""Flow lifecycle: drafts saved with problems, publishing refused until they are fixed,
immutable versions, and every status transition, legal or not."""

from datetime import date

import pytest
from sqlalchemy import select

from domain.flow import FlowStatus
from domain.flow_status import TRANSITIONS, IllegalTransition
from projections.flow_catalogue import (
    PublishRefused,
    UnknownFlow,
    UnknownVersion,
    get_flow,
    get_status,
    get_version,
    publish,
    published_flows,
    versions,
)
from projections.flow_lifecycle import (
    DraftRejected,
    ManualEnrollmentRefused,
    NothingToPublish,
    archive,
    manual_enrollment_flow,
    pause,
    publish_draft,
    resume,
    save_draft,
)
from projections.schema import flows
from tests.projections.test_flow_catalogue import make_flow

DRAFT, PUBLISHED, PAUSED, ARCHIVED = (
    FlowStatus.DRAFT,
    FlowStatus.PUBLISHED,
    FlowStatus.PAUSED,
    FlowStatus.ARCHIVED,
)


def document(subject: str = "Hi", **extra) -> dict:
    return {
        "id": "welcome",
        "name": "Welcome",
        "trigger": {"event": "form.submitted"},
        "steps": [
            {"id": "hello", "kind": "send_email", "subject": subject, "body": "Welcome"},
            {"id": "pause", "kind": "wait", "delay": "2d"},
            {"id": "done", "kind": "exit"},
        ],
        **extra,
    }


def broken_document() -> dict:
    doc = document(subject="")
    doc["steps"][1] = {"id": "pause", "kind": "wait", "delay": "2d", "next": "ghost"}
    return doc


# --- drafts and publishing ---------------------------------------------------------------


def test_a_draft_with_problems_is_saved_and_its_publish_refused_naming_step_and_field(engine):
    with engine.begin() as conn:
        problems = save_draft(conn, broken_document())
    assert {(p.step_id, p.field) for p in problems} >= {("hello", "subject"), ("pause", "next")}
    with engine.connect() as conn:
        record = get_flow(conn, "welcome")
        assert (record.status, record.current_version, record.name) == (DRAFT, 0, "Welcome")
        assert record.draft == broken_document()
    with engine.begin() as conn, pytest.raises(PublishRefused) as refused:
        publish_draft(conn, "welcome")
    # A superset: validation grows other checks (here, `done` becomes unreachable).
    assert {(p.step_id, p.field, p.code) for p in refused.value.problems} >= {
        ("hello", "subject", "missing_setting"),
        ("pause", "next", "unknown_step"),
    }
    assert all(p.severity == "error" and p.step_id and p.field for p in refused.value.problems)
    with engine.connect() as conn:
        assert versions(conn, "welcome") == []
        assert get_status(conn, "welcome") == DRAFT


def test_a_draft_that_does_not_even_parse_is_kept_as_written(engine):
    raw = {
        "id": "welcome",
        "trigger": {"event": "form.submitted"},
        "steps": [{"id": "hello", "kind": "send_carrier_pigeon"}],
    }
    with engine.begin() as conn:
        problems = save_draft(conn, raw)
    assert [(p.step_id, p.field) for p in problems] == [("hello", "kind")]
    with engine.connect() as conn:
        assert get_flow(conn, "welcome").draft == raw
    with engine.begin() as conn, pytest.raises(PublishRefused) as refused:
        publish_draft(conn, "welcome")
    assert [(p.step_id, p.field) for p in refused.value.problems] == [("hello", "kind")]


def test_fixing_the_draft_and_publishing_makes_version_one(engine):
    with engine.begin() as conn:
        save_draft(conn, broken_document())
    with engine.begin() as conn:
        assert save_draft(conn, document()) == []
        published = publish_draft(conn, "welcome")
    assert published.version == 1 and published.published_at is not None
    with engine.connect() as conn:
        record = get_flow(conn, "welcome")
        assert (record.status, record.current_version, record.draft) == (PUBLISHED, 1, None)
        assert [f.id for f in published_flows(conn)] == ["welcome"]
        assert get_version(conn, "welcome", 1) == published


def test_warnings_do_not_block_publishing(engine):
    doc = document()
    # A four-segment SMS and a merge field no contact has yet, but with a default:
    # both are worth a warning, neither should stop the flow going live.
    doc["steps"].insert(
        1,
        {
            "id": "text",
            "kind": "send_sms",
            "text": "{{ nickname | default('friend') }} " + "x" * 600,
        },
    )
    with engine.begin() as conn:
        problems = save_draft(conn, doc)
        assert {(p.step_id, p.code, p.severity) for p in problems} == {
            ("text", "sms_too_long", "warning"),
            ("text", "unknown_merge_field", "warning"),
        }
        assert publish_draft(conn, "welcome").version == 1


def test_publishing_v2_keeps_v1_retrievable_and_unchanged(engine):
    with engine.begin() as conn:
        save_draft(conn, document())
        v1 = publish_draft(conn, "welcome")
    with engine.begin() as conn:
        save_draft(conn, document(subject="Hello again"))
        # A draft on a published flow does not touch the live version.
        assert [f.version for f in published_flows(conn)] == [1]
        assert get_flow(conn, "welcome").draft["steps"][0]["subject"] == "Hello again"
    with engine.begin() as conn:
        v2 = publish_draft(conn, "welcome")
    assert v2.version == 2
    with engine.connect() as conn:
        assert get_version(conn, "welcome", 1) == v1
        assert get_version(conn, "welcome", 1).step("hello").subject == "Hi"
        assert get_version(conn, "welcome", 2).step("hello").subject == "Hello again"
        assert [f.version for f in versions(conn, "welcome")] == [1, 2]
        assert [f.version for f in published_flows(conn)] == [2]


def test_publishing_without_a_draft_is_refused(engine):
    with engine.begin() as conn:
        publish(conn, make_flow())
    with engine.begin() as conn, pytest.raises(NothingToPublish, match="no unpublished draft"):
        publish_draft(conn, "welcome")


def test_unknown_flows_and_versions_are_named(engine):
    with engine.begin() as conn:
        with pytest.raises(UnknownFlow, match="'ghost'"):
            publish_draft(conn, "ghost")
        with pytest.raises(UnknownFlow):
            get_version(conn, "ghost", 1)
        publish(conn, make_flow())
        with pytest.raises(UnknownVersion, match="flow 'welcome' has no version 5"):
            get_version(conn, "welcome", 5)


def test_a_draft_needs_a_valid_id_to_be_filed_under(engine):
    with engine.begin() as conn, pytest.raises(DraftRejected) as rejected:
        save_draft(conn, {"name": "no id", "steps": []})
    assert [(p.step_id, p.field) for p in rejected.value.problems] == [(None, "id")]
    with engine.begin() as conn, pytest.raises(DraftRejected):
        save_draft(conn, {"id": "Has Spaces"})


def test_yaml_dates_in_a_draft_are_stored_as_iso_strings(engine):
    with engine.begin() as conn:
        save_draft(conn, document(description=date(2026, 12, 24)))
    with engine.connect() as conn:
        assert get_flow(conn, "welcome").draft["description"] == "2026-12-24"


def test_saving_a_draft_does_not_rename_a_published_flow(engine):
    with engine.begin() as conn:
        save_draft(conn, document())
        publish_draft(conn, "welcome")
        save_draft(conn, document(name="Renamed"))
        assert get_flow(conn, "welcome").name == "Welcome"
        publish_draft(conn, "welcome")
        assert get_flow(conn, "welcome").name == "Renamed"


# --- transitions ----------------------------------------------------------------------


def flow_in(engine, status: FlowStatus) -> None:
    with engine.begin() as conn:
        save_draft(conn, document())
        if status != DRAFT:
            publish_draft(conn, "welcome")
        if status == PAUSED:
            pause(conn, "welcome")
        if status == ARCHIVED:
            archive(conn, "welcome")
        assert get_status(conn, "welcome") == status


ACTIONS = {"pause": pause, "resume": resume, "archive": archive}
LEGAL = [
    (before, action, after)
    for action in ACTIONS
    for before, after in TRANSITIONS[action].items()
    if before is not None
]
ILLEGAL = [
    (before, action)
    for action in ACTIONS
    for before in FlowStatus
    if before not in TRANSITIONS[action]
]


def test_the_transition_table_is_the_documented_lifecycle():
    assert set(LEGAL) == {
        (PUBLISHED, "pause", PAUSED),
        (PAUSED, "resume", PUBLISHED),
        (DRAFT, "archive", ARCHIVED),
        (PUBLISHED, "archive", ARCHIVED),
        (PAUSED, "archive", ARCHIVED),
    }


@pytest.mark.parametrize(("before", "action", "after"), LEGAL)
def test_legal_transitions(engine, before, action, after):
    flow_in(engine, before)
    with engine.begin() as conn:
        assert ACTIONS[action](conn, "welcome") == after
    with engine.connect() as conn:
        assert get_status(conn, "welcome") == after


@pytest.mark.parametrize(("before", "action"), ILLEGAL)
def test_illegal_transitions_name_the_current_and_requested_state(engine, before, action):
    flow_in(engine, before)
    with engine.begin() as conn, pytest.raises(IllegalTransition) as refused:
        ACTIONS[action](conn, "welcome")
    assert isinstance(refused.value, ValueError)
    assert refused.value.current == before
    assert f"it is {before.value}" in str(refused.value)
    assert f"({before.value} -> {refused.value.requested.value})" in str(refused.value)
    with engine.connect() as conn:
        assert get_status(conn, "welcome") == before


def test_transitions_of_an_unknown_flow_are_refused(engine):
    for action in ACTIONS.values():
        with engine.begin() as conn, pytest.raises(UnknownFlow):
            action(conn, "ghost")


def test_only_published_flows_enroll(engine):
    flow_in(engine, PUBLISHED)
    with engine.begin() as conn:
        publish(conn, make_flow("alerts", subject="Alert"))
        pause(conn, "alerts")
        publish(conn, make_flow("old", subject="Old"))
        archive(conn, "old")
        save_draft(conn, document() | {"id": "fresh"})
    with engine.connect() as conn:
        assert [f.id for f in published_flows(conn)] == ["welcome"]


def test_publishing_a_paused_flow_adds_a_version_but_stays_paused(engine):
    flow_in(engine, PAUSED)
    with engine.begin() as conn:
        save_draft(conn, document(subject="Fixed"))
        assert publish_draft(conn, "welcome").version == 2
        assert get_status(conn, "welcome") == PAUSED
        assert published_flows(conn) == []
        resume(conn, "welcome")
        assert [(f.id, f.version) for f in published_flows(conn)] == [("welcome", 2)]


def test_an_archived_flow_takes_no_drafts_and_no_publishes(engine):
    flow_in(engine, ARCHIVED)
    with engine.begin() as conn:
        with pytest.raises(IllegalTransition, match=r"\(archived -> draft\)"):
            save_draft(conn, document(subject="Back"))
        with pytest.raises(IllegalTransition, match=r"\(archived -> published\)"):
            publish(conn, make_flow(subject="Back"))
        assert [f.version for f in versions(conn, "welcome")] == [1]
        assert conn.execute(select(flows.c.status)).scalar_one() == "archived"


# --- manual enrollment ----------------------------------------------------------------


def test_manual_enrollment_uses_the_live_version(engine):
    flow_in(engine, PUBLISHED)
    with engine.begin() as conn:
        save_draft(conn, document(subject="Draft only"))
        flow = manual_enrollment_flow(conn, "welcome")
    assert (flow.version, flow.step("hello").subject) == (1, "Hi")


@pytest.mark.parametrize("status", [DRAFT, PAUSED, ARCHIVED])
def test_manual_enrollment_needs_a_published_flow(engine, status):
    flow_in(engine, status)
    with engine.connect() as conn, pytest.raises(ManualEnrollmentRefused, match=status.value):
        manual_enrollment_flow(conn, "welcome")


def test_manual_enrollment_needs_the_flow_to_allow_it(engine):
    with engine.begin() as conn:
        publish(conn, make_flow(enrollment={"allow_manual": False}))
    with engine.connect() as conn, pytest.raises(ManualEnrollmentRefused, match="allow_manual"):
        manual_enrollment_flow(conn, "welcome")


def test_merge_tag_naming_a_field_no_contact_has_blocks_publishing(engine):
    from projections.event_store import ingest
    from tests.journey_harness import contact

    doc = document(subject="Hi {{ nickname }}")
    with engine.begin() as conn:
        problems = save_draft(conn, doc)
    assert [(p.step_id, p.field, p.code, p.severity) for p in problems] == [
        ("hello", "subject", "unknown_merge_field", "error")
    ]
    with pytest.raises(PublishRefused):
        with engine.begin() as conn:
            publish_draft(conn, "welcome")
    ingest(engine, contact("c1", nickname="Bo"))  # now some contact has the field
    with engine.begin() as conn:
        save_draft(conn, doc)
        assert publish_draft(conn, "welcome").version == 1
