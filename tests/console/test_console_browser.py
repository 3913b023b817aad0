"""The console in a real browser (headless Chromium): log in with the API key, open
every page; open the preference page through the signed link in the welcome email a
contact really got, leave a topic, and see the console count it; opt out of email and
see the flow graph's count change. Served by uvicorn on a free port, over the engine's
own data."""

import re

import httpx
from cryptography.fernet import Fernet

from api.app import create_app
from tests.api.v1_harness import KEY, keyed, ok
from tests.client.harness import serving
from tests.console.browser import browser_page, snapshot
from tests.console.seed import MAILING, run_welcome
from tests.journey_harness import outbox


async def box_count(page, step_id: str, name: str) -> str:
    return await page.locator(
        f'#flow-graph g[data-step="{step_id}"] ' f'tspan[data-count="{name}"]'
    ).text_content()


async def topic_count(page, topic: str, channel: str) -> str:
    await page.goto("/console/contacts")
    return await page.locator(
        f'#topics tr[data-topic="{topic}"] ' f'td[data-count="{channel}"]'
    ).text_content()


async def test_console_pages_in_a_browser(time_skipping_env, engine, settings):
    # Preference links on, as a deployment sets them: every marketing email carries one.
    settings = settings.model_copy(
        update={
            "preference_link_key": Fernet.generate_key().decode(),
            "preference_base_url": "https://mail.example.com",
        }
    )
    people = await run_welcome(time_skipping_env, engine, settings)
    [welcome] = outbox(engine, people.bo)
    link = re.search(r"https://mail\.example\.com(/preferences/\S+)", welcome.body).group(1)
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

            # Bo follows the link in his welcome email and leaves the general topic by email.
            assert await topic_count(page, "general", "email") == "0"
            await page.goto(link)
            assert await page.is_checked("#email-general")
            await snapshot(page, "preferences-before")
            await page.uncheck("#email-general")
            await page.click("#save")
            assert await page.locator("#notice").text_content() == "Your choices are saved."
            assert not await page.is_checked("#email-general")
            await snapshot(page, "preferences-saved")
            assert await topic_count(page, "general", "email") == "1"
            await snapshot(page, "contacts-topics-after-preference")
            await page.goto(f"/console/contacts/{people.bo}")
            assert await page.locator("#topics-left").text_content() == "general by email"

            # Then he opts out of email altogether; the graph counts it against his message.
            async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": KEY}) as api:
                ok(
                    await api.post(
                        "/v1/events",
                        json={
                            "type": "contact.unsubscribed",
                            "contact_id": people.bo,
                            "payload": {"channel": "email"},
                        },
                    ),
                    202,
                )
            await page.goto("/console/flows/welcome")
            assert await box_count(page, "hello", "unsubscribed") == "unsub 1"
            await snapshot(page, "flow-welcome-after-opt-out")

            await page.click("text=Log out")
            await page.goto("/console/flows")
            assert "/console/login" in page.url
