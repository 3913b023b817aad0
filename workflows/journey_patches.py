"""One patch for every journey behaviour up to now (a mixin of JourneyWorkflow).

Each `workflow.patched` call that returns true records a marker, and the server's
TemporalChangeVersion search attribute is upserted with it: two history events per patch
per run, for journeys that only ever take the new path. A run started since
"journey-patches-v8" asks that one patch at its start and takes every behaviour in
BUNDLED without asking again (and sends through the outbox as local activities).
"journey-patches-v9" is v8 and one more behaviour: step reports are batched with the
journey's end (`_batched`, see workflows/journey_progress.py); a run with it records no
v8 marker. "journey-patches-v10" is v9 and one more: the step and status search
attributes are held with the reports and upserted once with them (`_shown_late`).
"journey-patches-v11" is v10 and one more: the journey hears its own contact changes
in the step that made them, not from the router (`_owns_changes`, see
workflows/journey_own_changes.py).
Runs from before v8 (stored histories, journeys in flight) find no bundle marker and
ask each patch as they always did; v8 to v11 runs find theirs: all replay as
recorded. Roll forward only: a release without v11 cannot replay a v11 run."""

from temporalio import workflow

# Every patch a journey asked before journey-patches-v8, answered by v8 and v9 alike. A
# patch added later is asked on its own (or goes into the next bundle, under a new name).
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
    _shown_late: bool = False  # search attributes upserted with the reports (v10)
    _owns_changes: bool = False  # its own contact changes heard without the router (v11)

    def _ask_bundle(self) -> bool:
        # Names spelled out: patches/catalogue.py reads patch names from the source.
        # Newest first: a run that has it records no older marker; older runs replay
        # their own (asking a patch their history lacks records nothing on replay).
        self._owns_changes = workflow.patched("journey-patches-v11")
        self._shown_late = self._owns_changes or workflow.patched("journey-patches-v10")
        self._batched = self._shown_late or workflow.patched("journey-patches-v9")
        self._bundled = self._batched or workflow.patched("journey-patches-v8")
        return self._bundled

    def patched(self, patch: str) -> bool:
        """workflow.patched(patch), answered by the bundle in runs that have it."""
        if self._bundled and patch in BUNDLED:
            return True
        return workflow.patched(patch)
