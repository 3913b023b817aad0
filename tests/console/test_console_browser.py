"""The console in a real browser (headless Chromium): log in with the API key, open
every page, and see a count on the flow graph change after a contact changes their
mind. Served by uvicorn on a free port, over the engine's own data."""

import httpx
import pytest

from api.app import create_app
from tests.api.v1_harness import KEY, keyed, ok
from tests.client.harness import serving
from tests.console.browser import browser_page, snapshot
from tests.console.seed import MAILING, run_welcome


async def box_count(page, step_id: str, name: str) -> str:
    return await page.locator(f'#flow-graph g[data-step="{step_id}"] '
                              f'tspan[data-count="{name}"]').text_content()


async def test_console_pages_in_a_browser(time_skipping_env, engine, settings):
    people = await run_welcome(time_skipping_env, engine, settings)
    with serving(create_app(keyed(settings), engine)) as base_url:
        async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": KEY}) as api:
            ok(await api.post("/v1/mailings", json=MAILING), 201)
        async with browser_page(base_url) as page:
            await page.goto("/console/flows/welcome")
            assert "/console/login?next=" in page.url  # no session yet
            await page.fill("input[name=api_key]", "wrong")
            await page.click("section.login button")
            assert await page.get_by_role("alert").text_content() == "invalid API key"
            await page.fill("input[name=api_key]", KEY)
            await page.click("section.login button")
            await page.wait_for_url("**/console/flows/welcome")
            cookies = await page.context.cookies()
            assert [c["httpOnly"] for c in cookies if c["name"] == "dripstone_console"] == [True]
            assert await page.evaluate("document.cookie") == ""  # not readable by scripts

            assert await page.locator("#flow-graph g.step").count() == 4
            assert await page.locator("#flow-graph g.edge").count() == 4
            assert await box_count(page, "hello", "sent") == "sent 2"
            assert await box_count(page, "hello", "unsubscribed") == "unsub 0"
            await snapshot(page, "flow-welcome")

            await page.click("nav >> text=Flows")
            row = page.locator('#flows tr[data-flow="welcome"]')
            assert "published" in await row.text_content()
            await snapshot(page, "flows")

            await page.click("nav >> text=Experiments")
            await page.wait_for_url("**/console/experiments")
            assert await page.locator('article[data-experiment="subject"] tbody tr').count() == 2
            await snapshot(page, "experiments")

            await page.click("nav >> text=Mailings")
            await page.click('#mailings a:text("spring")')
            await page.wait_for_url("**/console/mailings/spring")
            assert await page.locator('#mailing-steps tr[data-step="main"]').count() == 1
            await snapshot(page, "mailing-spring")

            await page.click("nav >> text=Contacts")
            await page.fill("input[name=contact_id]", people.bo)
            await page.click("form.search button")
            await page.wait_for_url(f"**/console/contacts/{people.bo}")
            timeline = await page.locator("#timeline").text_content()
            assert "Welcome, Bo" in timeline and "entered welcome" in timeline
            await snapshot(page, "contact-bo")

            # Bo opts out of email; the console counts it against the message he had.
            async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": KEY}) as api:
                ok(await api.post("/v1/events", json={
                    "type": "contact.unsubscribed", "contact_id": people.bo,
                    "payload": {"channel": "email"}}), 202)
            await page.goto("/console/flows/welcome")
            assert await box_count(page, "hello", "unsubscribed") == "unsub 1"
            await snapshot(page, "flow-welcome-after-opt-out")

            await page.click("text=Log out")
            await page.goto("/console/flows")
            assert "/console/login" in page.url
