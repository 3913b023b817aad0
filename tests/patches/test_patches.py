"""The patch report's two sources that need no Temporal: the patches found in today's
workflow code, and the stored histories that replay only with a patch's old branch."""

import os
import subprocess
from datetime import UTC, datetime

from patches.catalogue import find_patches, introduced
from patches.replay import HISTORIES, failing_without


def test_todays_patches_are_found_with_their_workflow_and_first_commit():
    patches = {p.name: p for p in find_patches()}
    assert {
        "journey-continue-as-new",
        "journey-index-end",
        "journey-migration",
        "clock-conditions-in-workflow",
    } <= set(patches)
    migration = patches["journey-migration"]
    assert migration.stage == "patched" and migration.workflow_types == ("JourneyWorkflow",)
    assert migration.where.startswith("workflows/journey_migration.py:")
    assert patches["journey-continue-as-new"].introduced is not None  # from git history


async def test_a_history_from_before_a_patch_fails_to_replay_without_it():
    # The sub-flow journey recorded before its index patch took the old branch; the
    # migrated journey (recorded with the marker) replays with the patch deprecated.
    histories = [
        HISTORIES / "actions-sub-flow_v2.json",
        HISTORIES / "actions-sub-flow_v3.json",
        HISTORIES / "migrated_v1.json",
    ]
    assert await failing_without("journey-index-start", histories) == ["actions-sub-flow_v2.json"]
    assert await failing_without("journey-migration", histories) == []


def _git(repo, *args, when="2026-01-01T00:00:00+00:00"):
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def test_a_patch_written_while_resolving_a_merge_is_dated_by_that_merge(tmp_path):
    """journey-end-status was written in a merge's conflict resolution: no commit of
    either branch has it, and `git log -S` leaves merges out, so it was "unknown"."""
    code = tmp_path / "workflows" / "journey.py"
    code.parent.mkdir()
    _git(tmp_path, "init", "-q", "-b", "main")
    code.write_text("def end():\n    return 1\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "start")
    _git(tmp_path, "checkout", "-qb", "side")
    code.write_text("def end():\n    return 2\n")
    _git(tmp_path, "commit", "-qam", "side", when="2026-01-02T00:00:00+00:00")
    _git(tmp_path, "checkout", "-q", "main")
    code.write_text("def end():\n    return 3\n")
    _git(tmp_path, "commit", "-qam", "main", when="2026-01-03T00:00:00+00:00")
    subprocess.run(["git", "merge", "-q", "side"], cwd=tmp_path, capture_output=True)  # conflict
    code.write_text("def end():\n    return 2 if workflow.patched('end-status') else 3\n")
    _git(tmp_path, "commit", "-qam", "merge", when="2026-01-04T00:00:00+00:00")
    # Reformatted later (other quotes, another line): still dated by the merge.
    code.write_text(
        'def end():\n    new = workflow.patched(\n        "end-status")\n'
        "    return 2 if new else 3\n"
    )
    _git(tmp_path, "commit", "-qam", "reformat", when="2026-01-05T00:00:00+00:00")
    assert introduced("end-status", tmp_path) == datetime(2026, 1, 4, tzinfo=UTC)
    assert introduced("end-statu", tmp_path) is None  # the quoted name, not a part of one


def test_every_patch_in_todays_code_has_its_first_commit():
    assert [p.name for p in find_patches() if p.introduced is None] == []
