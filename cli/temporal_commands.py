"""`dripstone temporal register-search-attributes`: register the custom search attributes
journeys set (workflows/search_attributes.py) on a Temporal namespace, through the
operator service, as `temporal operator search-attribute create` would for each.

Idempotent: an attribute already registered with the right type is left as it is, so
the command can run on every deploy. One registered under another type is a conflict
the command cannot fix (Temporal never changes a type): it says which and exits 2."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

import typer

from cli.output import console, fail

temporal_app = typer.Typer(help="Set up a Temporal namespace for Dripstone.", no_args_is_help=True)


@dataclass(frozen=True)
class Registration:
    name: str
    type: str  # Keyword, Int...
    outcome: str  # registered | already registered | conflict
    found_type: str | None = None  # for a conflict: the type the namespace has


def type_name(value: int) -> str:
    from temporalio.api.enums.v1 import IndexedValueType

    return IndexedValueType.Name(value).removeprefix("INDEXED_VALUE_TYPE_").title().replace("_", "")


async def register_search_attributes(client, namespace: str) -> list[Registration]:
    """Register every attribute of workflows.search_attributes.ALL that `namespace` lacks;
    report each. Raises temporalio.service.RPCError when Temporal refuses (unknown
    namespace, no permission)."""
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.service import RPCError, RPCStatusCode

    from workflows import search_attributes as sa

    async def registered() -> dict[str, int]:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        return dict(listed.custom_attributes)

    before = await registered()
    missing = {key.name: key.indexed_value_type for key in sa.ALL if key.name not in before}
    if missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
            )
        except RPCError as exc:
            # Another run (a second replica's deploy hook) registered them first: the
            # listing below tells whether they now match.
            if exc.status != RPCStatusCode.ALREADY_EXISTS:
                raise
    after = await registered() if missing else before
    report = []
    for key in sa.ALL:
        wanted, found = key.indexed_value_type, after.get(key.name)
        if found is not None and found != wanted:
            report.append(Registration(key.name, type_name(wanted), "conflict", type_name(found)))
        elif key.name in before:
            report.append(Registration(key.name, type_name(wanted), "already registered"))
        elif found is None:
            # Accepted but not listed yet (a cluster whose visibility store updates
            # asynchronously): not a failure, but not confirmed either.
            report.append(Registration(key.name, type_name(wanted), "requested"))
        else:
            report.append(Registration(key.name, type_name(wanted), "registered"))
    return report


@temporal_app.command("register-search-attributes")
def register_search_attributes_command(
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            help="Namespace to register them on (default: DRIPSTONE_TEMPORAL_NAMESPACE)",
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(
            "--address", help="Temporal frontend host:port (default: DRIPSTONE_TEMPORAL_ADDRESS)"
        ),
    ] = None,
) -> None:
    """Register the search attributes journeys set (DripstoneFlowId, DripstoneStatus...)
    on a namespace; those already there are left alone. Once per namespace, before the
    first worker starts (the dev server started by `dripstone dev` has them already)."""
    from rich.table import Table
    from temporalio.service import RPCError

    from codec.client import connect
    from settings import Settings, temporal_address_problem

    settings = Settings()
    if address is not None and (problem := temporal_address_problem(address)):
        fail(f"--address: {problem}")
    address = address or settings.temporal_address
    namespace = namespace or settings.temporal_namespace

    async def run() -> list[Registration]:
        # The product's one connect, so TLS and the API key apply here as everywhere.
        client = await connect(
            settings.model_copy(
                update={"temporal_address": address, "temporal_namespace": namespace}
            )
        )
        return await register_search_attributes(client, namespace)

    try:
        report = asyncio.run(run())
    except RPCError as exc:
        fail(f"Temporal at {address} refused (namespace {namespace!r}): {exc.message}")
    except RuntimeError as exc:  # codec.client.TemporalUnreachable names the settings
        fail(f"cannot reach Temporal: {exc}")
    table = Table("search attribute", "type", "outcome")
    for item in report:
        outcome = (
            item.outcome
            if item.found_type is None
            else f"conflict: registered as {item.found_type}"
        )
        table.add_row(item.name, item.type, outcome)
    console.print(table)
    conflicts = [item for item in report if item.outcome == "conflict"]
    if conflicts:
        fail(
            f"namespace {namespace!r} has {', '.join(i.name for i in conflicts)} under another "
            "type; Temporal cannot change a type: remove it (temporal operator "
            "search-attribute remove) if nothing else uses it, then run this again"
        )
    console.print(
        f"namespace {namespace!r} at {address}: "
        f"{sum(i.outcome == 'registered' for i in report)} registered, "
        f"{sum(i.outcome == 'already registered' for i in report)} already there"
    )
