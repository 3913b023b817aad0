"""contact_events / contact_messages in both clients against the real app: the
blocking one over loopback HTTP (uvicorn), the async one in-process; pages followed by
`next`, an unknown contact as NotFound, a bad cursor as ValidationFailed."""

import pytest

from dripstone_client import AsyncDripstone, Dripstone, NotFound, ValidationFailed
from tests.client.harness import KEY, asgi, served_app, serving
from tests.contact_sends import seed_ann


def test_the_blocking_client_pages_through_events_and_messages(engine, settings):
    seed_ann(engine)
    with serving(served_app(settings, engine)) as base_url, Dripstone(base_url, KEY) as dripstone:
        first = dripstone.contact_messages("ann", limit=2)
        assert [m["step_id"] for m in first["messages"]] == [None, "ucs2"]
        rest = dripstone.contact_messages("ann", cursor=first["next"])
        assert [(m["step_id"], m["segments"], m["encoding"]) for m in rest["messages"]] == [
            ("gsm", 1, "GSM-7"),
            ("hello", None, None),
        ]
        assert rest["next"] is None
        events = dripstone.contact_events("ann", limit=6)
        assert len(events["events"]) == 6 and events["next"] is not None
        [oldest] = dripstone.contact_events("ann", cursor=events["next"])["events"]
        assert oldest["type"] == "contact.created"
        with pytest.raises(NotFound, match="there is no contact 'nobody'"):
            dripstone.contact_messages("nobody")
        with pytest.raises(ValidationFailed) as bad:
            dripstone.contact_events("ann", cursor="nonsense")
        assert [e["loc"] for e in bad.value.errors] == ["query.cursor"]


async def test_the_async_client_reads_the_same_history(engine, settings):
    seed_ann(engine)
    async with AsyncDripstone(
        "http://dripstone.test", KEY, transport=asgi(served_app(settings, engine))
    ) as dripstone:
        messages = (await dripstone.contact_messages("ann"))["messages"]
        assert [m["status"] for m in messages] == ["failed", "sent", "sent", "sent"]
        assert (messages[1]["segments"], messages[1]["encoding"]) == (2, "UCS-2")
        events = await dripstone.contact_events("ann", limit=500)
        assert [e["type"] for e in events["events"]][:3] == ["message.sent"] * 3
        with pytest.raises(NotFound):
            await dripstone.contact_events("nobody")
