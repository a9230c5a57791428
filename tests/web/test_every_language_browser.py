"""Every settings page, a shared list's sharing page, an invitation and the notifications, in
each of the seven languages and in light and dark: axe-core finds nothing against WCAG 2.2 A
and AA, and no English is left in a page of another language. The English check works from
the catalogs: a text of the page (a text node, an element's whole text, a label for assistive
technology) that reads as a message of `messages.pot` in English, when that language's
catalog says it otherwise, is a string that went past gettext.

The pages are the same markup whichever database holds their data, so this runs on SQLite
only: the other browser tests cover both databases."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache

import httpx
import pytest
from babel.messages.pofile import read_po
from playwright.async_api import Browser, expect

from tests.auth.accounts_helpers import PASSWORD, bearer, unique_email
from tests.helpers_server import Server
from tests.web.browsing import Watched, made, open_page, screenshot, sign_in
from todo_api.kit.catalogs import LOCALE_DIR
from todo_api.kit.words.lexicon import LANGUAGES

SETTINGS = ["profile", "security", "tokens", "notifications", "calendar", "assistants", "data"]
PHOTOGRAPHED = {"profile", "security", "sharing"}  # in English and German, light

# Every text of the page a person can meet: text nodes, each element's whole text (a message
# may hold markup: "<b>Ada</b> joined the list"), the page's title and the labels, hints and
# strings the page gives assistive technology and its scripts.
TEXTS_OF_PAGE = """() => {
  const texts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (parent && !["SCRIPT", "STYLE"].includes(parent.tagName)) texts.push(node.data);
  }
  for (const element of document.body.querySelectorAll("*")) {
    if (!["SCRIPT", "STYLE"].includes(element.tagName)) texts.push(element.textContent);
    for (const attribute of element.attributes) {
      const name = attribute.name;
      const worded = ["aria-label", "aria-description", "placeholder", "title", "alt"];
      const button = name === "value" && ["submit", "button"].includes(element.type);
      if (worded.includes(name) || name.startsWith("data-") || button) {
        texts.push(attribute.value);
      }
    }
  }
  return texts;
}"""


PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")


@dataclass(frozen=True)
class EnglishLeft:
    """The messages that read otherwise in a language: a text of its page that is one of
    them, whole, is English. `plain` holds those without placeholders; `patterns` the others,
    their placeholders matching anything (a message with no word of its own, as
    "%(who)s: %(what)s", says nothing in English and is left out)."""

    plain: frozenset[str]
    patterns: tuple[tuple[str, re.Pattern[str]], ...]

    def found_in(self, texts: set[str]) -> list[str]:
        found = [f"{text!r}" for text in sorted(texts & self.plain)]
        for msgid, pattern in self.patterns:
            found += [f"{text!r} ({msgid!r})" for text in texts if pattern.fullmatch(text)]
        return found


@cache
def english_left(language: str) -> EnglishLeft:
    """`language`'s EnglishLeft, from its catalog. A message whose English is also a word of
    the language (the same in both, or another message's translation there) tells nothing."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    pairs = [
        (message.id, str(message.string))
        for message in catalog
        if isinstance(message.id, str) and message.id and message.string
    ]
    words = {string for _, string in pairs}
    plain, patterns = set(), []
    for msgid, string in pairs:
        english = msgid.replace("%%", "%")
        if english == string or english in words:
            continue
        parts = PLACEHOLDER.split(english)
        if len(parts) == 1:
            plain.add(english)
        elif any(re.search("[A-Za-z]{2}", part) for part in parts):
            patterns.append((msgid, re.compile(".+".join(map(re.escape, parts)))))
    return EnglishLeft(frozenset(plain), tuple(patterns))


async def no_english(watched: Watched, language: str) -> None:
    texts = {" ".join(text.split()) for text in await watched.page.evaluate(TEXTS_OF_PAGE)}
    left = english_left(language).found_in(texts - {""})
    assert left == [], f"English in the {language} page {watched.page.url}"


@dataclass
class Together:
    """Ada, whose pages are checked; Bob, a member of her shared list "Garden", where an
    invitation link waits; Bob's own list "Orchard", with a link Ada has not taken."""

    email: str
    headers: dict[str, str]
    garden: str
    invitation: str


def person(server: Server, name: str) -> tuple[str, dict[str, str]]:
    email = unique_email()
    body = {"email": email, "password": PASSWORD, "name": name}
    created = httpx.post(f"{server.url}/api/auth/register", json=body)
    assert created.status_code == 201, created.text
    return email, bearer(created.json()["access_token"])


def ok(response: httpx.Response) -> httpx.Response:
    assert response.is_success, response.text
    return response


@pytest.fixture(scope="module", params=["sqlite"])
def web_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite only: the pages' markup does not depend on the database (module docstring)."""
    return f"sqlite:///{tmp_path_factory.mktemp('web')}/todo.db"


@pytest.fixture(scope="module")
def together(server: Server) -> Together:
    ada_email, ada = person(server, "Ada Lovelace")
    _, bob = person(server, "Bob Kahn")
    garden = made(server, "/api/lists", {"name": "Garden"}, ada)["id"]
    joining = made(server, f"/api/lists/{garden}/invitations", {"role": "editor"}, ada)
    ok(
        httpx.post(
            f"{server.url}/api/invitations/accept", json={"token": joining["token"]}, headers=bob
        )
    )
    made(server, f"/api/lists/{garden}/invitations", {"role": "viewer"}, ada)  # waiting
    me = ok(httpx.get(f"{server.url}/api/auth/me", headers=ada)).json()
    # Bob gives Ada something of each kind to be told: an assignment, a mention, a completion.
    body = {"title": "Prune the roses", "list_id": garden, "assignee_id": me["id"]}
    roses = made(server, "/api/tasks", body, bob)
    made(server, f"/api/tasks/{roses['id']}/comments", {"body": f"@{ada_email} Monday?"}, bob)
    seeds = made(server, "/api/tasks", {"title": "Order seeds", "list_id": garden}, ada)
    ok(httpx.post(f"{server.url}/api/tasks/{seeds['id']}/complete", headers=bob))
    made(server, "/api/tokens", {"name": "Backup script", "scope": "read"}, ada)
    orchard = made(server, "/api/lists", {"name": "Orchard"}, bob)["id"]
    invitation = made(server, f"/api/lists/{orchard}/invitations", {"role": "viewer"}, bob)
    return Together(ada_email, ada, garden, invitation["token"])


@pytest.fixture(scope="module")
async def signed_in(
    server: Server, browser: Browser, axe_source: str, together: Together
) -> AsyncIterator[Watched]:
    """One browser, signed in as Ada, for every language: her setting says which."""
    watched = await open_page(browser, server, axe_source)
    await sign_in(watched.page, server, together.email)
    yield watched
    await watched.page.context.close()


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_page_in_every_language_and_theme(
    server: Server, signed_in: Watched, together: Together, language: str
) -> None:
    page = signed_in.page
    spoken = await page.request.patch(
        f"{server.url}/api/auth/me", data={"language": language}, headers=together.headers
    )
    assert spoken.ok, await spoken.text()
    pages = {group: f"/app/settings/{group}" for group in SETTINGS}
    pages["sharing"] = f"/app/lists/{together.garden}/sharing"
    pages["invitation"] = f"/app/invitations/{together.invitation}"
    pages["bell"] = "/app/notifications"
    for name, path in pages.items():
        await page.goto(f"{server.url}{path}")
        await expect(page.locator("html")).to_have_attribute("lang", language)
        for scheme in ("dark", "light"):
            await page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
            await signed_in.accessible()
        if language != "en":
            await no_english(signed_in, language)
        if name in PHOTOGRAPHED and language in ("en", "de"):
            screenshot(f"web-app-{name}-{language}.png", await page.screenshot(full_page=True))
    assert signed_in.problems == []
