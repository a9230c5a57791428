"""Helpers of the offline browser tests: a context, waiting for a promise, a page the service
worker controls."""

import asyncio
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page

from tests.helpers_server import Server
from tests.web.browsing import TIMEOUT_MS, register, sign_in


async def new_context(browser: Browser, **options: Any) -> BrowserContext:
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context


async def within(page: Page, script: str, seconds: float, arg: Any = None) -> bool:
    """Whether `script` (a function, its answer a promise) answers true within `seconds`:
    wait_for_function does not wait for a promise."""
    for _ in range(int(seconds / 0.05)):
        if await page.evaluate(script, arg):
            return True
        await asyncio.sleep(0.05)
    return False


async def until(page: Page, script: str, arg: Any = None) -> None:
    """Until `script` answers true, for TIMEOUT_MS at most."""
    if not await within(page, script, TIMEOUT_MS / 1000, arg):
        raise AssertionError(f"never true: {script}")


async def controlled(page: Page) -> None:
    """Loaded again once the worker is active: the page is the worker's, its files kept."""
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await page.reload()
    assert await page.evaluate("navigator.serviceWorker.controller !== null")
    # The page told the worker whose it is: that person's cache exists.
    await until(page, "() => caches.keys().then(keys => keys.some(k => k.startsWith('pages-')))")


async def signed_in(
    browser: Browser, server: Server
) -> tuple[dict[str, str], BrowserContext, Page]:
    """A new account signed in in a context of its own, its page the worker's: the account's
    bearer headers, the context and the page."""
    email, headers = register(server)
    context = await new_context(browser)
    page = await context.new_page()
    await sign_in(page, server, email)
    await controlled(page)
    return headers, context, page
