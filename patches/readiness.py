"""Whether a run from before a patch can still be running, asked of Temporal's
visibility: running executions of the patch's workflow types whose current run started
before the patch's release. Each continue-as-new run has its own start time and takes
patches afresh (a new run records the marker when it reaches the branch), so a run
started after the release never needs the old branch."""

from datetime import datetime

from temporalio.client import Client


async def running_before(
    client: Client, workflow_types: tuple[str, ...], released: datetime
) -> int:
    types = " OR ".join(f"WorkflowType = '{t}'" for t in workflow_types)
    query = (
        f"({types}) AND ExecutionStatus = 'Running' AND " f"StartTime < '{released.isoformat()}'"
    )
    return (await client.count_workflows(query)).count
