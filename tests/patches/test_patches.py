"""The patch report's two sources that need no Temporal: the patches found in today's
workflow code, and the stored histories that replay only with a patch's old branch."""

from patches.catalogue import find_patches
from patches.replay import HISTORIES, failing_without


def test_todays_patches_are_found_with_their_workflow_and_first_commit():
    patches = {p.name: p for p in find_patches()}
    assert {"journey-continue-as-new", "journey-index-end", "journey-migration",
            "clock-conditions-in-workflow"} <= set(patches)
    migration = patches["journey-migration"]
    assert migration.stage == "patched" and migration.workflow_types == ("JourneyWorkflow",)
    assert migration.where.startswith("workflows/journey_migration.py:")
    assert patches["journey-continue-as-new"].introduced is not None  # from git history


async def test_a_history_from_before_a_patch_fails_to_replay_without_it():
    # The sub-flow journey recorded before its index patch took the old branch; the
    # migrated journey (recorded with the marker) replays with the patch deprecated.
    histories = [HISTORIES / "actions-sub-flow_v2.json", HISTORIES / "actions-sub-flow_v3.json",
                 HISTORIES / "migrated_v1.json"]
    assert await failing_without("journey-index-start", histories) == ["actions-sub-flow_v2.json"]
    assert await failing_without("journey-migration", histories) == []
