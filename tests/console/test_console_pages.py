"""The console's pages over what the engine really did: the flow list, a flow's graph
with its per-step counts, mailings with their progress, a contact's timeline; and bad
input in a URL answered with a 4xx naming it."""

import re

import httpx

from api.app import create_app
from tests.api.v1_harness import KEY, keyed, ok
from tests.console.seed import MAILING, run_welcome


def client_for(settings, engine) -> httpx.AsyncClient:
    app = create_app(keyed(settings), engine)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test",
                             headers={"X-API-Key": KEY})


def count_on_box(html: str, step_id: str, name: str) -> int:
    box = html.split(f'data-step="{step_id}"', 1)[1].split("</g>", 1)[0]
    return int(re.search(rf'data-count="{name}">{name} (\d+)<', box).group(1))


async def test_pages_show_what_the_engine_did(time_skipping_env, engine, settings):
    people = await run_welcome(time_skipping_env, engine, settings)
    async with client_for(settings, engine) as console:
        ok(await console.post("/v1/mailings", json=MAILING), 201)

        flows = (await console.get("/console/flows")).text
        row = flows.split('data-flow="welcome"', 1)[1].split("</tr>", 1)[0]
        assert "Welcome series" in row and "published" in row and '<td class="n">1</td>' in row

        flow = await console.get("/console/flows/welcome")
        assert flow.status_code == 200
        assert '<svg id="flow-graph"' in flow.text
        for step in ("hello", "engaged", "vip", "done"):
            assert f'data-step="{step}"' in flow.text
        assert 'data-from="engaged" data-to="vip"' in flow.text
        assert count_on_box(flow.text, "hello", "sent") == 2
        assert count_on_box(flow.text, "hello", "entered") == 2
        assert count_on_box(flow.text, "vip", "entered") == 1  # only Ann is a VIP
        assert count_on_box(flow.text, "vip", "completed") == 1

        experiments = (await console.get("/console/experiments")).text
        assert 'data-flow="ab-hello"' in experiments and 'data-experiment="subject"' in experiments
        assigned = re.findall(r'data-count="assigned">(\d+)<', experiments)
        assert sorted(assigned) == ["0", "1"]  # Ann, in the variant her hash chose
        assert "testing" in experiments and "Difference vs plain" in experiments

        mailings = (await console.get("/console/mailings")).text
        assert 'data-mailing="spring"' in mailings and "draft" in mailings
        mailing = (await console.get("/console/mailings/spring")).text
        assert 'data-step="main"' in mailing

        contact = (await console.get(f"/console/contacts/{people.ann}")).text
        timeline = contact.split('id="timeline"', 1)[1]
        assert "form.submitted" in timeline and "email sent" in timeline
        assert "entered welcome" in timeline and "left welcome" in timeline
        assert "Welcome, Ann" in timeline  # the subject as sent
        found = await console.get("/console/contacts", params={"contact_id": people.ann})
        assert found.status_code == 303
        assert found.headers["location"] == f"/console/contacts/{people.ann}"


async def test_what_is_not_there_or_not_valid_is_named(engine, settings):
    async with client_for(settings, engine) as console:
        missing = await console.get("/console/flows/nope")
        assert missing.status_code == 404 and "there is no flow &#39;nope&#39;" in missing.text
        assert (await console.get("/console/mailings/nope")).status_code == 404
        assert (await console.get("/console/contacts/nobody")).status_code == 404
        bad_version = await console.get("/console/flows/welcome", params={"version": "two"})
        assert bad_version.status_code == 422
        assert bad_version.json()["detail"][0]["loc"] == "query.version"
        bad_id = await console.get("/console/flows/Not%20An%20Id")
        assert bad_id.status_code == 422 and bad_id.json()["detail"][0]["loc"] == "path.flow_id"
        address = await console.get("/console/contacts", params={"contact_id": "ann@example.com"})
        assert address.status_code == 422 and "contact_id:" in address.text
