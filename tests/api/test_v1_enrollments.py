"""POST /v1/flows/{flow_id}/enrollments: a contact the trigger's filter turns away is
enrolled by hand and its journey runs to the end on the (time-skipping) server; the
refusals are 404 or 409."""

import pytest

from domain.journey import JourneyStatus
from routing.flow_operations import wait_for_flow_control
from tests.api.v1_harness import async_client, form_flow, ok, sync_client
from tests.journey_harness import journey_result, journey_worker, outbox


def vip_only(flow_id: str, **extra) -> dict:
    flow = form_flow(flow_id, **extra)
    flow["trigger"]["condition"] = {"kind": "has_tag", "tag": "vip"}
    flow["steps"] = [{"id": "mark", "kind": "add_tag", "tag": "enrolled-by-hand"}, *flow["steps"]]
    return flow


async def test_manual_enrollment_bypasses_the_trigger_filter(time_skipping_env, engine, settings):
    env = time_skipping_env
    async with (
        journey_worker(env.client, engine, settings),
        async_client(settings, engine, env.client) as api,
    ):
        ok(await api.post("/v1/flows", json=vip_only("api-vip-welcome")), 201)
        ok(await api.post("/v1/flows/api-vip-welcome/publish"))
        ok(await api.put("/v1/contacts/api-plain-1", json={"email": "plain@example.com"}))
        # The filter turns the contact away: no tag `vip`, so the event enrolls nobody.
        turned_away = ok(
            await api.post(
                "/v1/events",
                json={
                    "type": "form.submitted",
                    "contact_id": "api-plain-1",
                    "payload": {"form_id": "newsletter"},
                },
            ),
            202,
        )
        assert turned_away["appended"] and turned_away["routed"] == []

        enrolled = ok(
            await api.post(
                "/v1/flows/api-vip-welcome/enrollments", json={"contact_id": "api-plain-1"}
            ),
            201,
        )
        assert enrolled == {
            "workflow_id": "journey/api-vip-welcome/api-plain-1",
            "outcome": "enrolled",
        }
        state = await journey_result(env, enrolled["workflow_id"])
        # re_entry is `never`: a second enrollment is refused, not a second journey.
        again = await api.post(
            "/v1/flows/api-vip-welcome/enrollments", json={"contact_id": "api-plain-1"}
        )
        contact = ok(await api.get("/v1/contacts/api-plain-1"))
    assert state.status == JourneyStatus.COMPLETED
    assert [v.step_id for v in state.trail] == ["mark", "hello"]
    assert [m.subject for m in outbox(engine, "api-plain-1")] == ["Hello from api-vip-welcome"]
    assert "enrolled-by-hand" in contact["tags"]
    assert again.status_code == 409
    assert "re-entry policy (never)" in again.json()["detail"]


async def test_refused_enrollments(time_skipping_env, engine, settings):
    env = time_skipping_env
    # With a worker: pausing the flow starts a flow-wide operation, and one left without
    # a worker would hold the shared time-skipping server's clock for every later test.
    async with (
        journey_worker(env.client, engine, settings),
        async_client(settings, engine, env.client) as api,
    ):
        ok(await api.put("/v1/contacts/api-known", json={}))
        body = {"contact_id": "api-known"}
        unknown_flow = await api.post("/v1/flows/api-ghost/enrollments", json=body)
        ok(await api.post("/v1/flows", json=vip_only("api-refusing")), 201)
        draft_only = await api.post("/v1/flows/api-refusing/enrollments", json=body)
        ok(
            await api.post(
                "/v1/flows", json=vip_only("api-no-manual", enrollment={"allow_manual": False})
            ),
            201,
        )
        ok(await api.post("/v1/flows/api-no-manual/publish"))
        not_allowed = await api.post("/v1/flows/api-no-manual/enrollments", json=body)
        ok(await api.post("/v1/flows/api-refusing/publish"))
        unknown_contact = await api.post(
            "/v1/flows/api-refusing/enrollments", json={"contact_id": "api-stranger"}
        )
        bad_contact = await api.post(
            "/v1/flows/api-refusing/enrollments", json={"contact_id": "a@b.example"}
        )
        operation = ok(await api.post("/v1/flows/api-refusing/pause"))["operation_id"]
        paused = await api.post("/v1/flows/api-refusing/enrollments", json=body)
        assert (await wait_for_flow_control(env.client, operation)).signalled == 0
    assert unknown_flow.status_code == 404
    assert (draft_only.status_code, not_allowed.status_code, paused.status_code) == (409, 409, 409)
    assert "is draft" in draft_only.json()["detail"]
    assert "allow_manual is false" in not_allowed.json()["detail"]
    assert "is paused" in paused.json()["detail"]
    assert unknown_contact.status_code == 404
    assert "api-stranger" in unknown_contact.json()["detail"]
    assert bad_contact.status_code == 422
    assert [d["loc"] for d in bad_contact.json()["detail"]] == ["contact_id"]


def test_manual_enrollment_needs_temporal(settings, engine):
    with sync_client(settings, engine) as client:
        response = client.post("/v1/flows/any/enrollments", json={"contact_id": "c1"})
    assert response.status_code == 503
    assert response.json() == {"detail": "Temporal is not connected; cannot enroll contacts"}


@pytest.mark.parametrize("body", [{}, {"contact_id": "c1", "flow_id": "x"}])
def test_an_enrollment_body_is_checked(settings, engine, body):
    with sync_client(settings, engine) as client:
        response = client.post("/v1/flows/any/enrollments", json=body)
    assert response.status_code == 422
