"""Taking a migration (a mixin of JourneyWorkflow): the `migrate` signal leaves an order,
and the journey takes it at its next safe point, between steps or inside a wait, never
in the middle of a step's activity. It continues as new on the target version at the
mapped step, carrying its whole state (visits, trail, seen events, the wait's deadline
by the rule in domain.journey_migration), so idempotency keys of steps already run are
the same and nothing sent is sent again."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.journey import ENDED, JourneyInput, JourneyState, StepVisit
    from domain.journey_migration import (
        MIGRATE_SIGNAL,
        TRAIL_LIMIT,
        MigrationOrder,
        migrated_state,
    )
    from workflows import search_attributes as sa
    from workflows.journey_progress import JourneyProgressReports


class JourneyMigrations(JourneyProgressReports):
    _input: JourneyInput
    _state: JourneyState
    # Not part of JourneyState: an order is taken before any continue-as-new (the check
    # comes first at every safe point), so it never has to cross runs.
    _migration: MigrationOrder | None = None

    @workflow.signal(name=MIGRATE_SIGNAL)
    def migrate(self, order: MigrationOrder) -> None:
        """Only journeys of the version the order is for: a journey that already moved
        (a redelivered order) or that ended is left alone."""
        flow = self._input.flow
        if (
            self._state.status in ENDED
            or order.flow.id != flow.id
            or order.from_version != flow.version
            or order.flow.version == flow.version
        ):
            return
        self._migration = order

    async def _take_migration(self) -> None:
        order, self._migration = self._migration, None
        # Journeys never signalled to migrate do not get here: their histories replay as
        # they were recorded. This marks the histories that did.
        if order is None or not self.patched("journey-migration"):
            return
        source = self._input.flow
        target = migrated_state(self._state, source, order, workflow.now())
        if target is None:
            # Its step has no place in the target: it stays on its version, and says so.
            self._state.trail = (
                self._state.trail
                + [
                    StepVisit(
                        step_id=self._state.current_step or "",
                        visit=0,
                        at=workflow.now(),
                        outcome=f"not migrated to version {order.flow.version}: step "
                        f"{self._state.current_step} has no place there ({order.migration_id})",
                        code="not_migrated",
                    )
                ][-TRAIL_LIMIT:]
            )
            return
        # The index first: once the new run exists, events must reach it as this version's
        # journey; a run that never starts leaves a row the next migration corrects. The
        # mapped step goes with it (the step stats and the console place live journeys by
        # it); journeys that migrated before this replay without it.
        moved_to = (
            {"current_step": target.current_step}
            if self.patched("journey-migration-index-step")
            else {}
        )
        await self._flush_progress()  # this version's visits, before the row moves on
        await self._record_in_index(
            ended=False, flow_version=order.flow.version, migrated_from=source.version, **moved_to
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        # Computed after every signal handled, so the carried state holds every event.
        state = migrated_state(self._state, source, order, workflow.now())
        state.runs += 1
        workflow.upsert_search_attributes(
            [
                sa.FLOW_VERSION.value_set(order.flow.version),
                sa.CURRENT_STEP.value_set(state.current_step),
            ]
        )
        workflow.continue_as_new(
            JourneyInput(
                flow=order.flow,
                contact_id=self._input.contact_id,
                enrollment_id=self._input.enrollment_id,
                state=state,
                local_sends=self._input.local_sends,
            )
        )
