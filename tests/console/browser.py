"""Headless Chromium for the console's browser tests: Debian's chromium, driven by
Playwright's async API (the tests run on pytest-asyncio's session loop, where the sync
API cannot run). Screenshots land in tests/artifacts/screenshots/ (gitignored), kept
after the run for people and CI to look at."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


def chromium_path() -> str:
    """Skipped only when the test set-up did not provide a browser at all; a path that
    is set but broken is a failure, so CI cannot pass by silently skipping."""
    path = os.environ.get("DRIPSTONE_CHROMIUM_BIN")
    if not path:
        pytest.skip("DRIPSTONE_CHROMIUM_BIN is not set (toolchain/test.sh sets it up)")
    if not os.access(path, os.X_OK):
        pytest.fail(f"DRIPSTONE_CHROMIUM_BIN={path} is not an executable", pytrace=False)
    return path


@asynccontextmanager
async def browser_page(base_url: str) -> AsyncIterator[Page]:
    executable = chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            # Containers (CI runs as root) have no user namespaces for Chromium's sandbox.
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            context = await browser.new_context(
                base_url=base_url, viewport={"width": 1280, "height": 900}
            )
            page = await context.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            await browser.close()


async def snapshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
