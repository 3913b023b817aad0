"""`dripstone flow audience` on the test's database, and `flow backfill` / publishing with
enroll-existing against the dev server with a real worker (the CLI runs in a thread, with
its own event loop and Temporal client, as it would in a terminal)."""

import asyncio

import pytest

from projections.event_store import ingest
from tests.cli.test_flow_cli import dripstone, write  # noqa: F401  (the fixture)
from tests.journey_harness import contact, event, journey_worker


def backfilled_flow(flow_id: str, existing: bool = True) -> dict:
    return {
        "id": flow_id,
        "name": "Backfilled",
        "trigger": {
            "event": "form.submitted",
            "where": [{"path": "form_id", "value": "newsletter"}],
        },
        "enrollment": {"existing_contacts": existing},
        "steps": [{"id": "tag", "kind": "add_tag", "tag": "backfilled"}],
    }


def sign_up(engine, *contact_ids: str, form_id: str = "newsletter") -> None:
    for contact_id in contact_ids:
        ingest(
            engine,
            [
                *contact(contact_id, email=f"{contact_id}@example.com"),
                event(contact_id, "form.submitted", {"form_id": form_id}),
            ],
        )


def test_audience_of_the_draft_and_the_live_version(dripstone, tmp_path, engine):  # noqa: F811
    sign_up(engine, "cli-a1", "cli-a2", "cli-a3")
    sign_up(engine, "cli-a4", form_id="other")
    dripstone("flow", "save", write(tmp_path, "f.yaml", backfilled_flow("cli-aud")))
    refused = dripstone("flow", "audience", "cli-aud", code=2)
    assert "has no published version yet; preview its draft with --draft" in refused.stderr
    shown = dripstone("flow", "audience", "cli-aud", "--draft", "--limit", "2").stdout
    assert "3 existing contact(s) match flow 'cli-aud' (its draft)" in shown
    assert "cli-a1@example.com" in shown and "cli-a2" in shown and "cli-a3" not in shown
    assert "... and 1 more" in shown
    # Publishing it without Temporal: --no-enroll-existing skips the backfill entirely.
    dripstone("flow", "publish-draft", "cli-aud", "--no-enroll-existing")
    assert "(version 1)" in dripstone("flow", "audience", "cli-aud").stdout
    assert (
        "no unpublished draft" in dripstone("flow", "audience", "cli-aud", "--draft", code=2).stderr
    )


def test_publish_says_how_to_backfill_when_temporal_is_down(dripstone, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DRIPSTONE_TEMPORAL_ADDRESS", "127.0.0.1:1")  # nothing listens there
    failed = dripstone(
        "flow", "publish", write(tmp_path, "f.yaml", backfilled_flow("cli-down")), code=2
    )
    assert "published flow 'cli-down' version 1" in failed.stdout
    assert "retry with: dripstone flow backfill cli-down" in failed.stderr


@pytest.mark.devserver
async def test_publish_backfills_with_a_progress_bar_and_not_twice(
    dev_server_env, engine, settings, dripstone, tmp_path, monkeypatch
):  # noqa: F811
    env = dev_server_env
    monkeypatch.setenv("DRIPSTONE_TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("DRIPSTONE_TASK_QUEUE", settings.task_queue)
    monkeypatch.setenv("DRIPSTONE_BACKFILL_PAGE_SIZE", "2")
    sign_up(engine, "cli-b1", "cli-b2", "cli-b3")
    sign_up(engine, "cli-b4", form_id="other")
    path = write(tmp_path, "f.yaml", backfilled_flow("cli-bf"))
    async with journey_worker(env.client, engine, settings):
        published = await asyncio.to_thread(dripstone, "flow", "publish", path)
        again = await asyncio.to_thread(dripstone, "flow", "backfill", "cli-bf", "--no-follow")
        followed = await asyncio.to_thread(dripstone, "flow", "backfill", "cli-bf")
        for contact_id in ("cli-b1", "cli-b2", "cli-b3"):
            await env.client.get_workflow_handle(f"journey/cli-bf/{contact_id}").result()
    assert "published flow 'cli-bf' version 1" in published.stdout
    assert "backfill/cli-bf/v1: enrolling existing contacts" in published.stdout
    assert "3/3" in published.stdout  # the bar, as last drawn
    assert (
        "backfill completed: 3 enrolled, 0 already in the flow, 4 contact(s) examined"
        in published.stdout
    )
    assert "follow it with: dripstone flow backfill cli-bf" in again.stdout
    # Started again after it completed: the same backfill, nobody enrolled twice.
    assert "backfill completed: 3 enrolled, 0 already in the flow" in followed.stdout
