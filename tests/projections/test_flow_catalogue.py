"""Flow catalogue: numbered, immutable published versions."""

import pytest
from sqlalchemy import func, select

from domain.flow import Flow
from projections.flow_catalogue import (
    PublishRefused,
    latest_version,
    publish,
    published_flows,
    versions,
)
from projections.schema import flow_versions, flows


def make_flow(flow_id="welcome", subject="Hi {{ first_name | default('there') }}", **extra) -> Flow:
    return Flow.model_validate(
        {
            "id": flow_id,
            "name": "Welcome",
            "trigger": {"event": "form.submitted"},
            "steps": [
                {"id": "hello", "kind": "send_email", "subject": subject, "body": "Welcome"},
                {"id": "pause", "kind": "wait", "delay": "2d"},
                {"id": "done", "kind": "exit"},
            ],
            **extra,
        }
    )


def version_rows(conn, flow_id="welcome") -> int:
    return conn.execute(
        select(func.count()).select_from(flow_versions).where(flow_versions.c.flow_id == flow_id)
    ).scalar_one()


def test_first_publish_is_version_one(engine):
    with engine.begin() as conn:
        published = publish(conn, make_flow())
    assert published.version == 1
    assert published.published_at is not None
    with engine.connect() as conn:
        stored = latest_version(conn, "welcome")
        row = conn.execute(select(flows)).one()
    assert stored == published
    assert (row.flow_id, row.status, row.current_version) == ("welcome", "published", 1)


def test_republishing_identical_content_returns_the_same_version(engine):
    with engine.begin() as conn:
        first = publish(conn, make_flow())
    with engine.begin() as conn:
        again = publish(conn, make_flow())
        assert version_rows(conn) == 1
    assert again.version == 1
    assert again.published_at == first.published_at


def test_changed_document_gets_the_next_version(engine):
    with engine.begin() as conn:
        publish(conn, make_flow())
        second = publish(conn, make_flow(subject="Welcome aboard"))
    assert second.version == 2
    with engine.connect() as conn:
        listed = versions(conn, "welcome")
        assert conn.execute(select(flows.c.current_version)).scalar_one() == 2
    assert [f.version for f in listed] == [1, 2]
    assert [f.step("hello").subject for f in listed] == [
        "Hi {{ first_name | default('there') }}",
        "Welcome aboard",
    ]


def test_republishing_an_older_document_makes_a_new_version(engine):
    with engine.begin() as conn:
        publish(conn, make_flow())
        publish(conn, make_flow(subject="B"))
        third = publish(conn, make_flow())
    assert third.version == 3


def test_version_and_timestamp_given_by_the_caller_are_ignored(engine):
    with engine.begin() as conn:
        published = publish(conn, make_flow().model_copy(update={"version": 41}))
    assert published.version == 1


def test_publish_refuses_a_flow_with_errors(engine):
    broken = Flow.model_validate(
        {
            "id": "broken",
            "trigger": {"event": "form.submitted"},
            "steps": [{"id": "hello", "kind": "send_email", "body": "x", "next": "ghost"}],
        }
    )
    with engine.begin() as conn, pytest.raises(PublishRefused) as info:
        publish(conn, broken)
    found = {(p.step_id, p.field, p.code) for p in info.value.problems}
    assert found == {("hello", "subject", "missing_setting"), ("hello", "next", "unknown_step")}
    assert "broken" in str(info.value)
    with engine.connect() as conn:
        assert version_rows(conn, "broken") == 0
        assert conn.execute(select(func.count()).select_from(flows)).scalar_one() == 0


def test_published_flows_returns_the_latest_version_of_each(engine):
    with engine.begin() as conn:
        publish(conn, make_flow())
        publish(conn, make_flow(subject="v2"))
        publish(conn, make_flow("alerts", subject="Alert"))
    with engine.connect() as conn:
        live = published_flows(conn)
    assert [(f.id, f.version) for f in live] == [("alerts", 1), ("welcome", 2)]
    assert live[1].step("hello").subject == "v2"


def test_published_flows_excludes_paused_flows(engine):
    with engine.begin() as conn:
        publish(conn, make_flow())
        publish(conn, make_flow("alerts", subject="Alert"))
        conn.execute(flows.update().where(flows.c.flow_id == "alerts").values(status="paused"))
    with engine.connect() as conn:
        assert [f.id for f in published_flows(conn)] == ["welcome"]


def test_stored_document_round_trips(engine):
    with engine.begin() as conn:
        published = publish(conn, make_flow(re_entry="always"))
    with engine.connect() as conn:
        document = conn.execute(select(flow_versions.c.document)).scalar_one()
    assert document["steps"][1]["delay"] == "2d"
    assert document["version"] == 1
    assert Flow.model_validate(document) == published
