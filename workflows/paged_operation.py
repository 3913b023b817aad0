"""What the flow operations (FlowControlWorkflow, MigrationWorkflow) share: a walk over the
journey index a page at a time, each page one activity from the operation's cursor, the
cursor and counts kept in the operation's own input so that continue-as-new carries them.

Deterministic: the pages come from activities (their results are in the history), and
the commands are the same, in the same order, as the two workflows issued before they
shared this (their stored histories replay unchanged)."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

PAGES_PER_RUN = 100
PAGE_TIMEOUT = timedelta(minutes=5)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


class PagedState(Protocol):
    cursor: str | None
    pages: int


class Page(Protocol):
    @property
    def next_after(self) -> str | None: ...


P = TypeVar("P", bound=Page)


async def page_through(
    state: PagedState,
    activity: str,
    request: Callable[[], Any],
    result_type: type[P],
    summary: Callable[[], str],
    count: Callable[[P], None],
) -> None:
    """Run `activity` on `request()` page after page, from `state.cursor`, adding each
    page to the counts with `count`. Returns when the index has no more; after
    PAGES_PER_RUN pages of this run it continues as new with `state` (never returns), so
    the history stays bounded however many journeys there are."""
    for _ in range(PAGES_PER_RUN):
        page = await workflow.execute_activity(
            activity,
            request(),
            result_type=result_type,
            start_to_close_timeout=PAGE_TIMEOUT,
            retry_policy=RETRY,
            summary=summary(),
        )
        count(page)
        state.pages += 1
        if page.next_after is None:
            return
        state.cursor = page.next_after
    workflow.continue_as_new(state)
