"""NOT_FOUND means "no such journey" only when it is about the journey: a wrong
namespace must fail loudly, or one misconfigured process would mark every journey it
touches as ended in the index."""

import pytest
from google.protobuf.any_pb2 import Any as AnyProto
from temporalio.api.common.v1 import GrpcStatus
from temporalio.api.errordetails.v1 import NamespaceNotFoundFailure
from temporalio.service import RPCError, RPCStatusCode

from routing import signals


class Refusing:
    def __init__(self, error: RPCError):
        self.error = error

    def get_workflow_handle(self, workflow_id):
        return self

    async def signal(self, *args, **kwargs):
        raise self.error

    async def describe(self, **kwargs):
        raise self.error


def not_found(details=()) -> RPCError:
    status = GrpcStatus(code=RPCStatusCode.NOT_FOUND, message="not found", details=list(details))
    return RPCError("not found", RPCStatusCode.NOT_FOUND, status.SerializeToString())


async def test_a_missing_journey_is_no_journey():
    assert await signals.signal_if_running(Refusing(not_found()), "journey/f/c", "event") is False
    assert await signals.describe_if_any(Refusing(not_found()), "journey/f/c") is None


async def test_a_missing_namespace_is_an_error():
    packed = AnyProto()
    packed.Pack(NamespaceNotFoundFailure(namespace="typo"))
    with pytest.raises(RPCError):
        await signals.signal_if_running(Refusing(not_found([packed])), "journey/f/c", "event")
    with pytest.raises(RPCError):
        await signals.describe_if_any(Refusing(not_found([packed])), "journey/f/c")
