"""/v1/flows over HTTP: draft -> validate -> publish -> versions -> pause/resume/archive,
with the 404s and 409s of the lifecycle; status changes reaching running journeys as a
durable operation followed through /v1/operations (dev server) and "enroll existing" on
publish (time-skipping)."""

import asyncio

import pytest

from domain.backfill import BackfillProgress
from domain.journey import JourneyStatus
from tests.api.v1_harness import async_client, form_flow, ok, sync_client
from tests.journey_harness import journey_result, journey_worker, outbox
from tests.workflows.live_journeys import at_step


@pytest.fixture
def client(settings, engine):
    with sync_client(settings, engine) as test_client:
        yield test_client


def test_a_flow_goes_from_draft_to_archived(client):
    document = form_flow("onboarding")
    assert ok(client.post("/v1/flows/validate", json=document)) == {
        "valid": True,
        "problems": [],
        "sms": [],
    }
    assert ok(client.post("/v1/flows", json=document), 201) == {
        "flow_id": "onboarding",
        "status": "draft",
        "problems": [],
    }
    assert ok(client.get("/v1/flows")) == {
        "flows": [
            {
                "flow_id": "onboarding",
                "name": "Flow onboarding",
                "status": "draft",
                "current_version": 0,
                "has_draft": True,
            }
        ]
    }
    detail = ok(client.get("/v1/flows/onboarding"))
    assert (detail["live"], detail["draft"]) == (None, document)

    published = ok(client.post("/v1/flows/onboarding/publish"))
    assert published == {
        "flow_id": "onboarding",
        "version": 1,
        "status": "published",
        "backfill": None,
    }
    # A second version from an edited draft; the first stays readable as it was.
    ok(client.post("/v1/flows", json={**document, "name": "Onboarding v2"}), 201)
    assert ok(client.get("/v1/flows/onboarding"))["status"] == "published"  # draft saved beside it
    assert ok(client.post("/v1/flows/onboarding/publish", json={}))["version"] == 2
    versions = ok(client.get("/v1/flows/onboarding/versions"))
    assert [(v["version"], v["name"]) for v in versions["versions"]] == [
        (1, "Flow onboarding"),
        (2, "Onboarding v2"),
    ]
    assert all(v["published_at"] for v in versions["versions"])
    first = ok(client.get("/v1/flows/onboarding/versions/1"))
    assert (first["id"], first["version"], first["name"]) == ("onboarding", 1, "Flow onboarding")
    assert first["steps"][0]["subject"] == "Hello from onboarding"
    detail = ok(client.get("/v1/flows/onboarding"))
    assert (detail["current_version"], detail["has_draft"], detail["draft"]) == (2, False, None)
    assert detail["live"]["name"] == "Onboarding v2"

    # Without Temporal the status changes all the same; no journey was signalled.
    assert ok(client.post("/v1/flows/onboarding/pause")) == {
        "flow_id": "onboarding",
        "status": "paused",
        "operation_id": None,
    }
    assert ok(client.post("/v1/flows/onboarding/resume"))["status"] == "published"
    assert ok(client.post("/v1/flows/onboarding/archive"))["status"] == "archived"
    assert ok(client.get("/v1/flows/onboarding/versions/2"))["version"] == 2  # still readable


def test_problems_are_reported_and_block_publishing(client):
    broken = form_flow("broken")
    broken["steps"].append({"id": "later", "kind": "wait"})  # a wait needs a delay or date
    validation = ok(client.post("/v1/flows/validate", json=broken))
    assert validation["valid"] is False
    assert any(
        p["step_id"] == "later" and p["severity"] == "error" for p in validation["problems"]
    ), validation
    saved = ok(client.post("/v1/flows", json=broken), 201)
    assert saved["status"] == "draft" and saved["problems"] == validation["problems"]

    refused = client.post("/v1/flows/broken/publish")
    assert refused.status_code == 409
    assert refused.json()["problems"] == [
        p for p in validation["problems"] if p["severity"] == "error"
    ]
    assert "broken" in refused.json()["detail"]
    assert ok(client.get("/v1/flows/broken"))["current_version"] == 0


def test_unknown_flows_and_versions_are_404(client):
    for path in ("/v1/flows/ghost", "/v1/flows/ghost/versions", "/v1/flows/ghost/versions/1"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "there is no flow 'ghost'"}
    for action in ("publish", "pause", "resume", "archive"):
        assert client.post(f"/v1/flows/ghost/{action}").status_code == 404, action
    ok(client.post("/v1/flows", json=form_flow("real")), 201)
    ok(client.post("/v1/flows/real/publish"))
    missing = client.get("/v1/flows/real/versions/7")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "flow 'real' has no version 7"}
    assert client.get("/v1/flows/real/versions/0").status_code == 422


def test_lifecycle_conflicts_are_409(client):
    ok(client.post("/v1/flows", json=form_flow("lifecycle")), 201)
    not_live = client.post("/v1/flows/lifecycle/pause")
    assert not_live.status_code == 409
    assert "cannot pause flow 'lifecycle': it is draft" in not_live.json()["detail"]
    ok(client.post("/v1/flows/lifecycle/publish"))
    nothing = client.post("/v1/flows/lifecycle/publish")
    assert nothing.status_code == 409
    assert nothing.json() == {"detail": "flow 'lifecycle' has no unpublished draft"}
    assert client.post("/v1/flows/lifecycle/resume").status_code == 409  # not paused
    ok(client.post("/v1/flows/lifecycle/archive"))
    for method, path, body in [
        ("POST", "/v1/flows", form_flow("lifecycle")),
        ("POST", "/v1/flows/lifecycle/pause", None),
        ("POST", "/v1/flows/lifecycle/archive", None),
    ]:
        response = client.request(method, path, json=body)
        assert response.status_code == 409, (path, response.text)
        assert "archived" in response.json()["detail"]


def test_a_paused_flow_takes_a_new_version_but_stays_paused(client):
    ok(client.post("/v1/flows", json=form_flow("held")), 201)
    ok(client.post("/v1/flows/held/publish"))
    ok(client.post("/v1/flows/held/pause"))
    ok(client.post("/v1/flows", json={**form_flow("held"), "name": "Fixed"}), 201)
    assert ok(client.post("/v1/flows/held/publish", json={"enroll_existing": False})) == {
        "flow_id": "held",
        "version": 2,
        "status": "paused",
        "backfill": None,
    }


def test_documents_that_cannot_be_filed_are_422(client):
    no_id = client.post("/v1/flows", json={"name": "No id", "steps": []})
    assert no_id.status_code == 422
    assert [d["loc"] for d in no_id.json()["detail"]] == ["id"]
    assert no_id.json()["problems"][0]["field"] == "id"
    bad_id = client.post("/v1/flows", json={**form_flow("x"), "id": "Has Spaces"})
    assert bad_id.status_code == 422
    not_an_object = client.post("/v1/flows/validate", json=["steps"])
    assert not_an_object.status_code == 422
    assert not_an_object.json()["detail"][0]["loc"] == "body"
    bad_publish = client.post("/v1/flows/x/publish", json={"rate_per_second": 0, "extra": 1})
    assert bad_publish.status_code == 422
    assert sorted(d["loc"] for d in bad_publish.json()["detail"]) == ["extra", "rate_per_second"]
    assert ok(client.get("/v1/flows")) == {"flows": []}


@pytest.mark.parametrize("allowed", [False, True])
def test_internal_webhook_urls_follow_the_servers_setting(settings, engine, allowed):
    """Validate, save and publish check webhook and attachment hosts against the
    deployment's DRIPSTONE_WEBHOOK_ALLOW_PRIVATE_TARGETS, as the worker will."""
    document = form_flow("internal")
    document["steps"].append({"id": "hook", "kind": "webhook", "url": "http://127.0.0.1:8080/in"})
    configured = settings.model_copy(update={"webhook_allow_private_targets": allowed})
    with sync_client(configured, engine) as client:
        validation = ok(client.post("/v1/flows/validate", json=document))
        saved = ok(client.post("/v1/flows", json=document), 201)
        published = client.post("/v1/flows/internal/publish")
    assert saved["problems"] == validation["problems"]
    if allowed:
        assert validation == {"valid": True, "problems": [], "sms": []}
        assert published.status_code == 200 and published.json()["version"] == 1
    else:
        [problem] = validation["problems"]
        assert (problem["step_id"], problem["field"], problem["code"]) == (
            "hook",
            "url",
            "private_target",
        )
        assert validation["valid"] is False
        assert published.status_code == 409 and published.json()["problems"] == [problem]


def test_enrolling_existing_contacts_needs_temporal_and_nothing_is_published_without_it(client):
    ok(client.post("/v1/flows", json=form_flow("backfilled")), 201)
    refused = client.post("/v1/flows/backfilled/publish", json={"enroll_existing": True})
    assert refused.status_code == 503
    # The flow's own enrollment.existing_contacts asks for it too.
    ok(
        client.post(
            "/v1/flows", json={**form_flow("backfilled"), "enrollment": {"existing_contacts": True}}
        ),
        201,
    )
    assert client.post("/v1/flows/backfilled/publish").status_code == 503
    assert ok(client.get("/v1/flows/backfilled"))["current_version"] == 0


async def test_publish_can_enroll_the_contacts_who_already_match(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    async with (
        journey_worker(env.client, engine, settings),
        async_client(settings, engine, env.client) as api,
    ):
        for contact_id in ("api-bf-1", "api-bf-2", "api-bf-3"):
            ok(
                await api.put(
                    f"/v1/contacts/{contact_id}", json={"email": f"{contact_id}@example.com"}
                )
            )
        ok(
            await api.post(
                "/v1/events/batch",
                json={
                    "events": [
                        {
                            "type": "form.submitted",
                            "contact_id": "api-bf-1",
                            "payload": {"form_id": "newsletter"},
                        },
                        {
                            "type": "form.submitted",
                            "contact_id": "api-bf-2",
                            "payload": {"form_id": "newsletter"},
                        },
                        {
                            "type": "form.submitted",
                            "contact_id": "api-bf-3",
                            "payload": {"form_id": "other"},
                        },
                    ]
                },
            ),
            202,
        )
        ok(await api.post("/v1/flows", json=form_flow("api-backfill")), 201)
        published = ok(
            await api.post(
                "/v1/flows/api-backfill/publish",
                json={"enroll_existing": True, "rate_per_second": 100},
            )
        )
        backfill = published["backfill"]
        assert (backfill["workflow_id"], backfill["flow_id"], backfill["version"]) == (
            "backfill/api-backfill/v1",
            "api-backfill",
            1,
        )
        handle = env.client.get_workflow_handle(
            backfill["workflow_id"], result_type=BackfillProgress
        )
        async with env.time_skipping_unlocked():
            done = await handle.result()
        states = [
            await journey_result(env, f"journey/api-backfill/{c}") for c in ("api-bf-1", "api-bf-2")
        ]
    assert (done.status, done.enrolled) == ("completed", 2)
    assert [s.status for s in states] == [JourneyStatus.COMPLETED] * 2
    assert outbox(engine, "api-bf-3") == []


@pytest.mark.devserver
async def test_pause_resume_and_archive_reach_the_flows_running_journeys(
    dev_server_env, engine, settings
):
    env = dev_server_env
    flow = form_flow("api-flow-control")
    flow["steps"] = [{"id": "hold", "kind": "wait", "delay": "30d"}, *flow["steps"]]
    async with (
        journey_worker(env.client, engine, settings),
        async_client(settings, engine, env.client) as api,
    ):
        ok(await api.post("/v1/flows", json=flow), 201)
        ok(await api.post("/v1/flows/api-flow-control/publish"))
        for contact_id in ("api-fc-1", "api-fc-2"):
            ok(
                await api.put(
                    f"/v1/contacts/{contact_id}", json={"email": f"{contact_id}@example.com"}
                )
            )
            ok(
                await api.post(
                    "/v1/events",
                    json={
                        "type": "form.submitted",
                        "contact_id": contact_id,
                        "payload": {"form_id": "newsletter"},
                    },
                ),
                202,
            )
        journeys = [f"journey/api-flow-control/api-fc-{n}" for n in (1, 2)]
        for journey in journeys:
            await at_step(env, journey, "hold")

        paused = ok(await api.post("/v1/flows/api-flow-control/pause"))
        assert (paused["flow_id"], paused["status"]) == ("api-flow-control", "paused")
        assert paused["operation_id"].startswith("flow-control/api-flow-control/pause/")
        assert await _finished(api, paused["operation_id"]) == 2
        for journey in journeys:
            await at_step(env, journey, "hold", JourneyStatus.PAUSED)
        resumed = ok(await api.post("/v1/flows/api-flow-control/resume"))
        assert await _finished(api, resumed["operation_id"]) == 2
        for journey in journeys:
            await at_step(env, journey, "hold")
        archived = ok(await api.post("/v1/flows/api-flow-control/archive"))
        assert archived["status"] == "archived"
        assert await _finished(api, archived["operation_id"]) == 2
        states = await asyncio.gather(*(journey_result(env, j) for j in journeys))
        unknown = await api.get("/v1/operations/flow-control/api-flow-control/pause/nope")
        not_an_operation = await api.get(f"/v1/operations/{journeys[0]}")
    assert [(s.status, s.exit_reason) for s in states] == [
        (JourneyStatus.EXITED, "stopped: flow archived")
    ] * 2
    assert outbox(engine) == []
    assert unknown.status_code == not_an_operation.status_code == 404


async def _finished(api, operation_id: str) -> int:
    """Follow the operation until it completes; the journeys it signalled."""
    for _ in range(200):
        progress = ok(await api.get(f"/v1/operations/{operation_id}"))
        assert (progress["workflow_id"], progress["flow_id"]) == (operation_id, "api-flow-control")
        if progress["status"] == "completed":
            return progress["signalled"]
        assert progress["status"] == "running", progress
        await asyncio.sleep(0.05)
    raise AssertionError(f"{operation_id} never completed: {progress}")


@pytest.mark.parametrize(
    "module, script, valid",
    [
        (None, "sync_crm", True),
        ("tests.fakes.scripts", "echo", True),
        ("tests.fakes.scripts", "greet", True),
        ("tests.fakes.scripts", "sync_crm", False),
        ("no.such.module", "anything", True),
    ],
)
def test_run_script_names_are_checked_against_the_registry(settings, engine, module, script, valid):
    """Built-ins and DRIPSTONE_SCRIPTS_MODULE's SCRIPTS; without a module here, or with one
    the API cannot load, names go unchecked (its workers may know more; the worker is
    where a bad module must fail, at start-up)."""
    document = form_flow("scripted")
    document["steps"] = [{"id": "run", "kind": "run_script", "script": script}]
    configured = settings.model_copy(update={"scripts_module": module})
    with sync_client(configured, engine) as client:
        validation = ok(client.post("/v1/flows/validate", json=document))
        ok(client.post("/v1/flows", json=document), 201)
        published = client.post("/v1/flows/scripted/publish")
    assert validation["valid"] is valid, validation
    if not valid:
        [problem] = validation["problems"]
        assert (problem["step_id"], problem["field"], problem["code"]) == (
            "run",
            "script",
            "unknown_script",
        )
        assert "registered: echo, greet, hold, log" in problem["message"]
        assert published.status_code == 409
    else:
        assert published.status_code == 200
