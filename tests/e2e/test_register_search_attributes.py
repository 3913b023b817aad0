"""`dripstone temporal register-search-attributes` against the real Temporal dev server:
a fresh namespace gets every attribute journeys set, a second run changes nothing, and a
namespace holding one under another type is a conflict named, not papered over."""

import asyncio
import uuid

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError

from tests.cli.invoke import dripstone_run
from workflows import search_attributes as sa

pytestmark = pytest.mark.devserver

WANTED = {key.name: key.indexed_value_type for key in sa.ALL}


async def _new_namespace(address: str, name: str, preset: dict[str, int] | None = None) -> None:
    client = await Client.connect(address)
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    # A new namespace reaches the frontend's cache a moment later.
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        try:
            await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=name)
            )
            break
        except RPCError:
            assert asyncio.get_running_loop().time() < deadline, f"namespace {name} never came"
            await asyncio.sleep(0.2)
    if preset:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=name, search_attributes=preset)
        )


async def _custom(address: str, name: str) -> dict[str, int]:
    client = await Client.connect(address)
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=name)
    )
    return dict(listed.custom_attributes)


@pytest.fixture
def address(dev_server_env) -> str:
    return dev_server_env.client.service_client.config.target_host


def register(address: str, namespace: str, code: int = 0):
    return dripstone_run(
        "temporal",
        "register-search-attributes",
        "--address",
        address,
        "--namespace",
        namespace,
        code=code,
    )


def test_registers_what_is_missing_and_a_second_run_changes_nothing(address):
    namespace = f"dripstone-sa-{uuid.uuid4().hex[:8]}"
    # One attribute is there already, as a half-done earlier set-up would leave it.
    asyncio.run(_new_namespace(address, namespace, {sa.STATUS.name: sa.STATUS.indexed_value_type}))
    first = register(address, namespace)
    assert "4 registered, 1 already there" in first.stdout
    assert {
        k: v for k, v in asyncio.run(_custom(address, namespace)).items() if k in WANTED
    } == WANTED
    again = register(address, namespace)
    assert "0 registered, 5 already there" in again.stdout
    assert "DripstoneFlowVersion" in again.stdout


def test_an_attribute_under_another_type_is_a_conflict_named(address):
    namespace = f"dripstone-sa-{uuid.uuid4().hex[:8]}"
    asyncio.run(
        _new_namespace(
            address, namespace, {sa.CURRENT_STEP.name: IndexedValueType.INDEXED_VALUE_TYPE_INT}
        )
    )
    result = register(address, namespace, code=2)
    assert "conflict: registered as Int" in result.stdout
    assert f"namespace {namespace!r} has DripstoneStep under another type" in result.stderr
    # The others were registered all the same.
    found = asyncio.run(_custom(address, namespace))
    assert found[sa.FLOW_ID.name] == sa.FLOW_ID.indexed_value_type
    assert found[sa.CURRENT_STEP.name] == IndexedValueType.INDEXED_VALUE_TYPE_INT


def test_an_unknown_namespace_or_an_unreachable_server_is_named(address):
    result = register(address, "no-such-namespace", code=2)
    assert "namespace 'no-such-namespace'" in result.stderr
    result = dripstone_run(
        "temporal", "register-search-attributes", "--address", "127.0.0.1:1", code=2
    )
    assert "could not connect to Temporal at 127.0.0.1:1" in result.stderr
