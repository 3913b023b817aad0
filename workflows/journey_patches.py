"""One patch for every journey behaviour up to now (a mixin of JourneyWorkflow).

Each `workflow.patched` call that returns true records a marker, and the server's
TemporalChangeVersion search attribute is upserted with it: two history events per patch
per run, for journeys that only ever take the new path. A run started since
"journey-patches-v8" asks that one patch at its start and takes every behaviour in
BUNDLED without asking again (and sends through the outbox as local activities).
"journey-patches-v9" is v8 and one more behaviour: step reports are batched with the
journey's end (`_batched`, see workflows/journey_progress.py). Runs from before them
(stored histories, journeys in flight) find no such marker and ask each patch as they
always did, so they replay as recorded."""

from temporalio import workflow

BUNDLE = "journey-patches-v9"
# Every patch a journey asked before BUNDLE. A patch added later is asked on its own
# (or goes into the next bundle, under a new name).
BUNDLED = frozenset(
    {
        "journey-continue-as-new",
        "journey-index-start",
        "journey-step-report",
        "journey-index-end",
        "journey-end-status",
        "journey-sa-on-change",
        "journey-local-steps",
        "journey-migration",
        "journey-index-sub-flow",
        "tag-invalid-change-recorded",
        "experiment-step",
        "flow-holdout",
        "goal-checks-on-events",
        "clock-conditions-in-workflow",
        "journey-migration-index-step",
    }
)


class JourneyPatches:
    # Set by run() before anything else asks a patch; signal handlers never ask one.
    _bundled: bool = False
    _batched: bool = False  # step reports batched (journey-patches-v9)

    def _ask_bundle(self) -> bool:
        # Spelled out (not BUNDLE): patches/catalogue.py reads patch names from the source.
        # v9 first: a run that has it records no v8 marker; a v8 run replays its own.
        self._batched = workflow.patched("journey-patches-v9")
        self._bundled = self._batched or workflow.patched("journey-patches-v8")
        return self._bundled

    def patched(self, patch: str) -> bool:
        """workflow.patched(patch), answered by the bundle in runs that have it."""
        if self._bundled and patch in BUNDLED:
            return True
        return workflow.patched(patch)
