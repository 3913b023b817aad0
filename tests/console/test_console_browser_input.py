"""What a browser does with the pages' edges (headless Chromium, uvicorn on a free port,
no Temporal): a login link whose `next` climbs out of the console lands on the console;
a console URL it cannot read is an HTML page naming the parameter; the index pages'
empty notes; and the preference page's form, which changes only what it shows."""

from cryptography.fernet import Fernet

from activities.preference_links import PreferenceLinks
from activities.suppression import topic_opt_outs
from api.app import create_app
from projections.event_store import ingest
from tests.api.v1_harness import KEY, keyed
from tests.client.harness import serving
from tests.console.browser import browser_page, snapshot
from tests.journey_harness import contact


async def _log_in(page, next_url: str) -> None:
    await page.goto(f"/console/login?next={next_url}")
    await page.fill("input[name=api_key]", KEY)
    await page.click("section.login button")


async def test_the_console_answers_odd_urls_with_its_own_pages(engine, settings):
    with serving(create_app(keyed(settings), engine)) as base_url:
        async with browser_page(base_url) as page:
            # The browser would resolve the dot segments and leave the console.
            await _log_in(page, "/console/%2e%2e/v1/flows")
            await page.wait_for_url("**/console/flows")
            await _log_in(page, "/console/../v1/flows")
            await page.wait_for_url("**/console/flows")
            # Nothing yet: each index page says so (one listing macro draws both).
            assert "dripstone flow publish FILE" in await page.locator("p.empty").text_content()
            await page.goto("/console/mailings")
            assert "PUT /v1/mailings/{id}" in await page.locator("p.empty code").text_content()

            answer = await page.goto("/console/flows/welcome?version=abc")
            assert answer.status == 422 and "text/html" in answer.headers["content-type"]
            assert (await page.get_by_role("alert").text_content()).startswith("version:")
            assert await page.locator("nav a.current").text_content() == "Flows"
            await snapshot(page, "console-bad-version")
            answer = await page.goto("/console/nowhere")
            assert (
                answer.status == 404
                and "/console/nowhere" in await page.get_by_role("alert").text_content()
            )


async def test_the_preference_form_changes_only_what_it_shows(engine, settings):
    key = Fernet.generate_key().decode()
    configured = keyed(settings).model_copy(
        update={"preference_link_key": key, "preference_base_url": "https://mail.example.com"}
    )
    ingest(engine, contact("ann", email="ann@example.com"))
    link = PreferenceLinks.from_settings(configured).page_url("ann")
    with serving(create_app(configured, engine)) as base_url:
        async with browser_page(base_url) as page:
            await page.goto(link.removeprefix("https://mail.example.com"))
            await page.uncheck("#email-newsletter")
            await page.click("#save")
            assert await page.locator("#notice").text_content() == "Your choices are saved."
            assert not await page.is_checked("#email-newsletter")
            assert await page.is_checked("#email-general") and await page.is_checked(
                "#sms-newsletter"
            )
            await snapshot(page, "preferences-one-box")
    with engine.connect() as conn:
        assert topic_opt_outs(conn, "email", "newsletter", ["ann"]) == {"ann"}
        assert not topic_opt_outs(conn, "email", "general", ["ann"])
        assert not topic_opt_outs(conn, "sms", "newsletter", ["ann"])
