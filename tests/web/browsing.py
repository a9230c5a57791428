"""What the browser tests of the web app share: a page watched for what it should not do
(dialogs, console errors, page errors, requests to another origin), axe-core's verdict, and
the small steps every flow takes (register through the API, sign in through the page)."""

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.accounts.helpers import PASSWORD, bearer, unique_email
from tests.browser import VIRTUAL_AUTHENTICATOR
from tests.helpers_server import Server
from tests.support import IN_CI

# The whole browser, for what only it does (notifications, Background Sync, Lighthouse's
# figures), and Debian's headless shell of the same Chromium for the rest: no browser UI to
# start with each context, so a third less CPU for the same tests.
CHROMIUM = "/usr/bin/chromium"
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# axe-core's run: every rule of the tags, or only those of its colour category (`cat.color`:
# in 4.11, text against its background, 1.4.3, and a link told from the text around it by
# more than its colour, 1.4.1); only the violations, without the CSS selectors, ancestry and
# XPath of their nodes (their markup says which: a fifth less of axe-core's time a page).
AXE_RUN = """([tags, coloursOnly]) => {
  const colour = rule => rule.tags.includes("cat.color") && !rule.tags.includes("experimental");
  const only = coloursOnly
    ? {type: "rule", values: axe.getRules(tags).filter(colour).map(rule => rule.ruleId)}
    : {type: "tag", values: tags};
  return axe.run(document, {runOnly: only, resultTypes: ["violations"], selectors: false,
                            ancestry: false, xpath: false}).then(found => found.violations);
}"""
AXE_SECONDS = 120  # one check: a second or two, far more on a loaded machine, never for ever
XSS_TITLES = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']
TIMEOUT_MS = 15_000
# What a page shows after a click may take more than Playwright's 5 s on a loaded machine (a
# save's post and redirect beside three other test processes); a test that holds a time of
# the contract's ("within 2 s") names its own timeout.
expect.set_options(timeout=TIMEOUT_MS)


def missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI needs it: scripts/setup-ci.sh)")
    pytest.skip(reason)


@dataclass
class Watched:
    """A page, and what it did that it should not have."""

    page: Page
    origin: str
    axe: str
    problems: list[str] = field(default_factory=list)
    javascript: bool = True  # the page's own scripts run

    def watch(self) -> None:
        self.page.on("dialog", lambda dialog: self.problems.append(f"dialog: {dialog.message}"))
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on(
            "console",
            lambda message: (
                self.problems.append(f"console: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        self.page.on(
            "request",
            lambda request: (
                None
                if request.url.startswith(self.origin) or request.url.startswith("data:")
                else self.problems.append(f"request: {request.url}")
            ),
        )

    async def accessible(self, colours_only: bool = False) -> None:
        """axe-core finds nothing against WCAG 2.2 A and AA on the page as it is (only the
        rules of colour, when told)."""
        # axe-core is a script: in a page without JavaScript its timers never fire, and the
        # check would wait for ever. Such a page is checked as a page with it (`nothing`).
        assert self.javascript, "axe-core cannot run in a page without JavaScript"
        if not self.axe:  # judged in the test's run on SQLite (tests/web/conftest.py)
            return
        if not await self.page.evaluate("typeof axe !== 'undefined'"):  # once per document
            await self.page.evaluate(self.axe)
        violations: list[dict[str, Any]] = await asyncio.wait_for(
            self.page.evaluate(AXE_RUN, [AXE_TAGS, colours_only]), AXE_SECONDS
        )
        described = [
            (v["id"], v["help"], [node["html"] for node in v["nodes"]]) for v in violations
        ]
        assert described == [], f"{self.page.url}: {described}"

    async def accessible_in_both_schemes(self) -> None:
        """axe-core on the page as it is in dark, then in light (the page is left in light).

        The schemes differ in colours only (tests/web/test_schemes.py holds app.css to it), so
        in the second only the rules of colour can find what the first did not: it runs those,
        about half of axe-core's time a page."""
        await self.page.emulate_media(color_scheme="dark")
        await self.accessible()
        await self.page.emulate_media(color_scheme="light")
        await self.accessible(colours_only=True)


def register(server: Server) -> tuple[str, dict[str, str]]:
    """A new account, through the API: its email and its bearer headers."""
    email = unique_email()
    made = httpx.post(
        f"{server.url}/api/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert made.status_code == 201, made.text
    return email, bearer(made.json()["access_token"])


def person(server: Server, name: str) -> tuple[str, dict[str, str], str]:
    """A new account with a name, through the API: its email, bearer headers and id."""
    email = unique_email()
    body = {"email": email, "password": PASSWORD, "name": name}
    created = httpx.post(f"{server.url}/api/auth/register", json=body)
    assert created.status_code == 201, created.text
    headers = bearer(created.json()["access_token"])
    return email, headers, str(httpx.get(f"{server.url}/api/auth/me", headers=headers).json()["id"])


def made(
    server: Server, path: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    created = httpx.post(f"{server.url}{path}", json=body, headers=headers)
    assert created.status_code == 201, created.text
    found: dict[str, Any] = created.json()
    return found


def tasks_of(server: Server, headers: dict[str, str]) -> list[dict[str, Any]]:
    listed = httpx.get(f"{server.url}/api/tasks", headers=headers)
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()
    return found


async def open_page(
    browser: Browser,
    server: Server,
    axe: str,
    *,
    javascript: bool = True,
    scheme: str = "light",
    locale: str | None = None,
) -> Watched:
    """A new browser context (its own cookies) and page, watched."""
    context = await browser.new_context(
        java_script_enabled=javascript,
        color_scheme=scheme,  # type: ignore[arg-type]
        viewport={"width": 1100, "height": 700},
        locale=locale,
    )
    context.set_default_timeout(TIMEOUT_MS)
    watched = Watched(await context.new_page(), server.url, axe, javascript=javascript)
    watched.watch()
    return watched


async def without_live_updates(page: Page) -> None:
    """No live update replaces the page under the pointer while it drags. Playwright's drag in
    Chromium takes the first `mousemove` after the button goes down for its own; one the
    browser makes up when the content under the pointer changes comes first at times, and the
    drag that starts after it is never carried on. Live updates have tests of their own."""
    quiet = {"content_type": "text/event-stream", "body": "retry: 600000\n\n"}
    await page.route("**/app/live*", lambda route: route.fulfill(**quiet))


async def sign_in(page: Page, server: Server, email: str, password: str = PASSWORD) -> None:
    """Through the sign-in page, to the inbox."""
    await page.goto(f"{server.url}/app/signin")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("navigation", name="Lists")).to_be_visible()
    await page.wait_for_load_state()  # the page's scripts (keys, live updates) have run


async def account_menu(page: Page) -> Locator:
    """The header's account menu (Settings, Keyboard shortcuts, Sign out), opened."""
    menu = page.locator("details.account")
    if not await menu.evaluate("details => details.open"):
        await menu.locator("summary").click()
    return menu


async def view_menu(page: Page) -> Locator:
    """A list's `View` menu (layout, sort, filter, completed tasks, select), opened."""
    return await _opened(page.locator("details.view-menu"))


async def list_menu(page: Page) -> Locator:
    """A list's own `More…` menu (share, activity, move, rename, delete), opened."""
    return await _opened(page.locator("details.list-more"))


async def _opened(menu: Locator) -> Locator:
    if not await menu.evaluate("details => details.open"):
        await menu.locator("summary").click()
    return menu


async def sign_out(page: Page) -> None:
    """`Sign out`, from the account menu."""
    await (await account_menu(page)).get_by_role("button", name="Sign out").click()


async def add_authenticator(page: Page) -> None:
    """A virtual authenticator for the page's browser (tests/browser.py's), as a laptop's."""
    devtools = await page.context.new_cdp_session(page)
    await devtools.send("WebAuthn.enable")
    await devtools.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR})


async def tab_to(page: Page, target: Locator, *, most: int = 40) -> None:
    """Tab through the page until `target` has the focus, as a keyboard user does."""
    for _ in range(most):
        if await target.evaluate("element => element === document.activeElement"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{target} is not reached by Tab")


async def nothing() -> None:
    """Without JavaScript axe-core cannot run in the page: the pages it checks are the same."""
