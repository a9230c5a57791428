"""Every settings page, a shared list's sharing page, an invitation and the notifications, in
each of the seven languages and in light and dark: axe-core finds nothing against WCAG 2.2 A
and AA, and no English is left in a page of another language. The English check works from
the catalogs: a text of the page (a text node, an element's whole text, a label for assistive
technology) that reads as a message of `messages.pot` in English, when that language's
catalog says it otherwise, is a string that went past gettext.

The pages are the same markup whichever database holds their data, so this runs on SQLite
only: the other browser tests cover both databases."""

import re
import zoneinfo
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache

import httpx
import pytest
from babel.messages.pofile import read_po
from playwright.async_api import Browser, Page, expect

from tests.accounts.helpers import PASSWORD, bearer, unique_email
from tests.helpers_server import Server
from tests.web.browsing import Watched, made, open_page, sign_in
from todo_api.kit.catalogs import LOCALE_DIR
from todo_api.web.common.shown import zone_choices
from todo_api.words.lexicon import LANGUAGES

SETTINGS = ["profile", "security", "tokens", "notifications", "calendar", "assistants", "data"]
# A page's states reached by a form (its action) and what shows them: a new invitation link,
# the hand-over's confirmation, two-factor sign-in's QR code.
STATES = {
    "sharing": [("/invitations", "#invitation-link"), ("/handover", "#confirm-heading")],
    "security": [("/two-factor/setup", "img.qr")],
}

# Every text of a page (the one in the browser, or one given as HTML) a person can meet:
# `texts`, its text nodes, each element's whole text (a message may hold markup: "<b>Ada</b>
# joined the list"), its title and the labels, hints and strings it gives assistive technology
# and its scripts; `own`, its text nodes and those strings, but what is code (code, kbd, pre,
# samp), which no language translates.
TEXTS_OF_PAGE = """html => {
  const page = html ? new DOMParser().parseFromString(html, "text/html") : document;
  const texts = [page.title], own = [];
  const code = node => node.parentElement.closest("code, kbd, pre, samp, script, style");
  const walker = page.createTreeWalker(page.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (code(node)) continue;
    texts.push(node.data);
    own.push(node.data);
  }
  const worded = ["aria-label", "aria-description", "placeholder", "title", "alt"];
  for (const element of page.body.querySelectorAll("*")) {
    if (!["SCRIPT", "STYLE"].includes(element.tagName)) texts.push(element.textContent);
    for (const {name, value} of element.attributes) {
      const button = name === "value" && ["submit", "button"].includes(element.type);
      if (worded.includes(name) || name.startsWith("data-") || button) {
        texts.push(value);
        own.push(value);
      }
    }
  }
  const normal = text => text.split(/\\s+/).filter(Boolean).join(" ");
  return {texts: texts.map(normal), own: own.map(normal)};
}"""
NAMED_IN_THEMSELVES = {"English", "Deutsch", "Français", "Español", "Italiano", "Português"}
NAMED_IN_THEMSELVES |= {"Nederlands", "todo-api", "Tasks"}  # the languages, the service, APP_NAME
# A text a language may share with English: no word in it, a time zone's name, an address,
# a user agent ("python-httpx/0.28.1"), a machine's value in a data- attribute (a key in hex,
# an ISO 8601 moment).
NOT_WORDS = re.compile(
    r"[^A-Za-z]*|.*(://|@|^[#/]|[A-Za-z]/\d).*|[0-9a-f]{16,}|\d{4}-\d\d-\d\dT[0-9:.+Z-]+"
)
# Zones by their names and by CLDR's words for their places, which languages often share
# (Chile, Santiago).
ZONES = zoneinfo.available_timezones() | {
    words for language in LANGUAGES for _name, words in zone_choices(language)
}


PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")


def _pattern(message: str) -> str | None:
    """A message as a pattern of whole text, its placeholders matching anything; none for a
    message with no word of its own ("%(who)s: %(what)s" says nothing in any language)."""
    parts = PLACEHOLDER.split(message)
    if not any(re.search("[A-Za-z]{2}", part) for part in parts):
        return None
    return ".+".join(map(re.escape, parts))


@dataclass(frozen=True)
class EnglishLeft:
    """What tells English from a language in its page, from its catalog. `plain` and
    `patterns`: the messages that read otherwise in the language (a text of its page that is
    one of them, whole, is English), without placeholders and with. `words`: the language's
    own texts, its translations, which may be the English too ("Name", "%(n)s open")."""

    plain: frozenset[str]
    patterns: tuple[tuple[str, re.Pattern[str]], ...]
    words: re.Pattern[str]

    def found_in(self, texts: set[str]) -> list[str]:
        found = [f"{text!r}" for text in sorted(texts & self.plain)]
        for msgid, pattern in self.patterns:
            found += [f"{text!r} ({msgid!r})" for text in texts if pattern.fullmatch(text)]
        return found


def _forms(text: str | tuple[str, ...]) -> tuple[str, ...]:
    """A message's forms: one, or each plural form."""
    return (text,) if isinstance(text, str) else tuple(text)


@cache
def english_left(language: str) -> EnglishLeft:
    """`language`'s EnglishLeft. A message whose English is also the language's (the same in
    both, or another message's translation there) tells nothing and is left out."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    pairs = [
        (_forms(message.id), _forms(message.string))
        for message in catalog
        if message.id and message.string
    ]
    words = {string for _, strings in pairs for string in strings}
    plain, patterns = set(), []
    for english, _ in pairs:
        for form in english:
            pattern = _pattern(form)
            if form in words or pattern is None:
                continue
            if pattern == re.escape(form):
                plain.add(form)
            else:
                patterns.append((form, re.compile(pattern)))
    own = (_pattern(word) for word in sorted(words))
    either = re.compile("|".join(f"(?:{pattern})" for pattern in own if pattern))
    return EnglishLeft(frozenset(plain), tuple(patterns), either)


async def texts_of(page: Page, html: str | None = None) -> tuple[set[str], set[str]]:
    """The page's texts and its own (TEXTS_OF_PAGE): the browser's, or those of `html`."""
    found = await page.evaluate(TEXTS_OF_PAGE, html)
    return set(found["texts"]) - {""}, set(found["own"]) - {""}


async def no_english(page: Page, language: str, english: set[str], data: set[str]) -> None:
    """Nothing in the page reads as a message the catalog of `language` translates; and
    none of its own texts is one of the English page's (`english`), unless it is a word of
    the language too, the people's own (`data`), a name or no word at all."""
    texts, own = await texts_of(page)
    catalog = english_left(language)
    left = catalog.found_in(texts)
    left += [
        f"{text!r} (as in English)"
        for text in sorted(own & english)
        if text not in data | ZONES | NAMED_IN_THEMSELVES
        and not (NOT_WORDS.fullmatch(text) or catalog.words.fullmatch(text))
    ]
    assert left == [], f"English in the {language} page {page.url}"


@dataclass
class Together:
    """Ada, whose pages are checked; Bob, a member of her shared list "Garden", where an
    invitation link waits; Bob's own list "Orchard", with a link Ada has not taken."""

    email: str
    headers: dict[str, str]
    garden: str
    invitation: str
    data: set[str]  # the names and titles they gave


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
    accepted = {"token": joining["token"]}
    ok(httpx.post(f"{server.url}/api/invitations/accept", json=accepted, headers=bob))
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
    data = {"Ada Lovelace", "Bob Kahn", "Garden", "Orchard", "Prune the roses", "Order seeds"}
    return Together(ada_email, ada, garden, invitation["token"], data | {"Backup script"})


@pytest.fixture(scope="module")
async def signed_in(
    server: Server, session_browser: Browser, axe_script: str, together: Together
) -> AsyncIterator[Watched]:
    """One browser, signed in as Ada, for every language: her setting says which."""
    watched = await open_page(session_browser, server, axe_script)
    await sign_in(watched.page, server, together.email)
    yield watched
    await watched.page.context.close()


async def checked(watched: Watched, language: str, english: set[str], data: set[str]) -> None:
    """axe-core in dark and light, and no English left (but in English)."""
    await watched.accessible_in_both_schemes()
    if language != "en":
        await no_english(watched.page, language, english, data)


async def speak(page: Page, server: Server, together: Together, language: str) -> None:
    """Ada's pages speak `language` from now on."""
    spoken = await page.request.patch(
        f"{server.url}/api/auth/me", data={"language": language}, headers=together.headers
    )
    assert spoken.ok, await spoken.text()


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_page_in_every_language_and_theme(
    server: Server, signed_in: Watched, together: Together, language: str
) -> None:
    page = signed_in.page
    pages = {group: f"/app/settings/{group}" for group in SETTINGS}
    pages["sharing"] = f"/app/lists/{together.garden}/sharing"
    pages["invitation"] = f"/app/invitations/{together.invitation}"
    pages["bell"] = "/app/notifications"
    english: dict[str, set[str]] = {}
    if language != "en":  # each page in English first, to compare with
        await speak(page, server, together, "en")
        for name, path in pages.items():
            answer = await page.request.get(f"{server.url}{path}")
            english[name] = (await texts_of(page, await answer.text()))[1]
    await speak(page, server, together, language)
    for name, path in pages.items():
        await page.goto(f"{server.url}{path}")
        await expect(page.locator("html")).to_have_attribute("lang", language)
        await checked(signed_in, language, english.get(name, set()), together.data)
        for action, shown in STATES.get(name, []):  # what a form's answer adds to the page
            form = page.locator(f'form[action$="{action}"]')
            for password in await form.locator("input[type=password]").all():
                await password.fill(PASSWORD)
            await form.get_by_role("button").first.click()
            await expect(page.locator(shown)).to_be_visible()
            await checked(signed_in, language, english.get(name, set()), together.data)
    assert signed_in.problems == []
