"""The day in order through HTTP, on both databases: Upcoming's headings in the page's language
(`Überfällig`, `Heute`, `Morgen`, then the weekday and date as German writes them), `Later`'s
tasks, and a sort kept only for a view that offers one, from the sorts offered."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

from tests.oauth.helpers import form_fields
from tests.web.test_pages import Account, account, app, signed_in  # noqa: F401 (fixtures)

GERMAN_MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli"]
GERMAN_MONTHS += ["August", "September", "Oktober", "November", "Dezember"]
GERMAN_DAYS = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]


async def api(who: Account, method: str, path: str, body: Any = None) -> Any:
    answer = await who.api.request(method, path, json=body, headers=who.headers)
    assert answer.is_success, answer.text
    return answer.json()


async def test_upcoming_names_its_days_in_the_pages_language_and_later_has_the_rest(
    signed_in: Account,  # noqa: F811
) -> None:
    await api(signed_in, "PATCH", "/api/auth/me", {"language": "de"})
    today = datetime.now(UTC).date()
    for title, ahead in (("Alt", -3), ("Bald", 3), ("Viel später", 9)):
        due = (today + timedelta(days=ahead)).isoformat()
        await api(signed_in, "POST", "/api/tasks", {"title": title, "due_date": due})
    page = await signed_in.browser.get("/app/upcoming")
    assert page.status_code == 200
    headings = re.findall(r"<h2 id=\"day-[^\"]+\">([^<]+)</h2>", unescape(page.text))
    days = [today + timedelta(days=n) for n in range(2, 7)]
    named = [f"{GERMAN_DAYS[d.weekday()]}, {d.day}. {GERMAN_MONTHS[d.month - 1]}" for d in days]
    assert headings == ["Überfällig", "Heute", "Morgen", *named]
    assert unescape(page.text).count("Nichts geplant") == 6
    assert "Viel später" not in page.text
    assert 'href="/app/later">Später</a>' in page.text
    later = await signed_in.browser.get("/app/later")
    assert later.status_code == 200
    assert re.findall(r'href="/app/tasks/[^"]+">([^<]+)</a>', unescape(later.text)) == [
        "Viel später"
    ]


async def test_a_sort_is_kept_only_for_a_view_that_offers_it(
    signed_in: Account,  # noqa: F811
) -> None:
    inbox = await signed_in.browser.get("/app/")
    token = form_fields(inbox.text)["csrf_token"]
    assert '<select id="sort" name="sort">' in inbox.text
    today = await signed_in.browser.get("/app/today")
    assert 'name="sort"' not in today.text  # Today's order is by day

    async def sort(back: str, chosen: str) -> tuple[int, str | None]:
        data = {"csrf_token": token, "back": back, "sort": chosen}
        answer = await signed_in.browser.post("/app/sort", data=data)
        return answer.status_code, answer.headers.get("location")

    assert (await sort("/app/today", "title"))[0] == 404
    assert (await sort("/app/", "sideways"))[0] == 404
    # A page after the first was of the old order: the list starts again.
    assert await sort("/app/?q=milk&cursor=abc", "title") == (303, "/app/?q=milk")
    kept = await signed_in.browser.get("/app/")
    assert '<option value="title" selected>' in kept.text
