"""The migration's side effect: one page of `migrate` orders to live journeys
(MigrationWorkflow). The signalling is the router side's (routing.journey_migrations),
handed in by the worker; this module does not import it."""

from typing import Protocol

from temporalio import activity

from domain.migration_plan import MigrationPageRequest, MigrationPageResult


class MigrationSignaller(Protocol):
    async def signal_page(self, request: MigrationPageRequest) -> MigrationPageResult: ...


class MigrationActivities:
    def __init__(self, signaller: MigrationSignaller):
        self.signaller = signaller

    @activity.defn(name="migrate_journey_page")
    async def migrate_journey_page(self, request: MigrationPageRequest) -> MigrationPageResult:
        """Idempotent: a journey that already moved is no longer on a source version (so
        not in the page), and one that got the order twice takes it once."""
        return await self.signaller.signal_page(request)
