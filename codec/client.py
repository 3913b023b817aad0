"""The Temporal client every Dripstone process (worker, API, CLI) connects with: the
configured address and namespace, and the data converter of codec.converter. Kept apart
from the worker's composition root so a command that only reads from Temporal does not
load every activity and workflow."""

from temporalio.client import Client

from codec.converter import data_converter


async def connect(settings, lazy: bool = False) -> Client:
    """`lazy`: connect on first use, so a process that takes events in (API, CLI) starts
    and stores them while Temporal is down; their dispatch records route them later."""
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                data_converter=data_converter(settings), lazy=lazy)
