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
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://console.test",
        headers={"X-API-Key": KEY},
    )


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
        # A URL the page cannot read is an HTML page naming the parameter, not the API's JSON.
        for url, params, named in (
            ("/console/flows/welcome", {"version": "two"}, "version:"),
            ("/console/flows/welcome", {"version": "0"}, "version:"),
            ("/console/flows/Not%20An%20Id", {}, "flow_id:"),
            ("/console/mailings/Bad%20Id", {}, "mailing_id:"),
        ):
            bad = await console.get(url, params=params)
            assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
            alert = bad.text.split('role="alert">', 1)[1].split("</p>", 1)[0]
            assert alert.startswith(named) and "<nav>" in bad.text, (url, params)
        unknown = await console.get("/console/nothing/here")
        assert unknown.status_code == 404 and "text/html" in unknown.headers["content-type"]
        assert "/console/nothing/here" in unknown.text
        address = await console.get("/console/contacts", params={"contact_id": "ann@example.com"})
        assert address.status_code == 422 and "contact_id:" in address.text


def test_the_index_pages_draw_their_table_with_one_macro():
    from types import SimpleNamespace

    from console.routes import templates

    for name in ("flows.html", "mailings.html"):
        source, _, _ = templates.env.loader.get_source(templates.env, name)
        assert '{% from "listing.html" import listing %}' in source
        assert "<table" not in source and "<thead" not in source, name
    empty = templates.env.get_template("mailings.html").render(mailings=[], section="mailings")
    assert '<p class="empty">No mailings yet: save one with <code>PUT' in empty
    row = SimpleNamespace(
        mailing_id="spring",
        name="<Spring>",
        status="draft",
        current_step=None,
        percent=0,
        done=0,
        audience=3,
        sent=0,
    )
    shown = templates.env.get_template("mailings.html").render(mailings=[row], section="mailings")
    assert '<th class="n">Audience</th>' in shown and "&lt;Spring&gt;" in shown
    assert shown.count('<tr data-mailing="spring">') == 1
