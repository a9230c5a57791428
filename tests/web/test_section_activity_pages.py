"""Sections in the activity's words, through HTTP on both databases: a section made, renamed and
deleted on the list's activity page, a task put in a section on the task's page, by the
section's name, in the reader's language."""

from html import unescape
from typing import Any

from tests.web.test_pages import Account, account, app, signed_in  # noqa: F401 (fixtures)


async def api(who: Account, method: str, path: str, body: Any = None) -> Any:
    answer = await who.api.request(method, path, json=body, headers=who.headers)
    assert answer.is_success, answer.text
    return answer.json() if answer.content else None


async def test_sections_in_the_activity_in_words(signed_in: Account) -> None:  # noqa: F811
    home = await api(signed_in, "POST", "/api/lists", {"name": "Home"})
    doing = await api(signed_in, "POST", f"/api/lists/{home['id']}/sections", {"name": "Doing"})
    later = await api(signed_in, "POST", f"/api/lists/{home['id']}/sections", {"name": "Later"})
    await api(signed_in, "PATCH", f"/api/sections/{later['id']}", {"name": "Someday"})
    task = await api(signed_in, "POST", "/api/tasks", {"title": "Paint", "list_id": home["id"]})
    await api(signed_in, "PATCH", f"/api/tasks/{task['id']}", {"section_id": doing["id"]})
    await api(signed_in, "DELETE", f"/api/sections/{later['id']}")
    for language, said in (
        (
            "en",
            [
                "You added the section Doing",
                "You renamed the section Later to Someday",
                "You deleted the section Someday",
            ],
        ),
        (
            "de",
            [
                "Du: Abschnitt Doing hinzugefügt",
                "Du: Abschnitt Later in Someday umbenannt",
                "Du: Abschnitt Someday gelöscht",
            ],
        ),
    ):
        headers = {"Accept-Language": language}
        page = await signed_in.browser.get(f"/app/lists/{home['id']}/activity", headers=headers)
        assert page.status_code == 200, page.text
        for sentence in said:
            assert sentence in unescape(page.text), (language, sentence)
    page = await signed_in.browser.get(f"/app/tasks/{task['id']}")
    assert "You changed the section to Doing" in unescape(page.text)
    de = await signed_in.browser.get(f"/app/tasks/{task['id']}", headers={"Accept-Language": "de"})
    assert "Abschnitt auf Doing geändert" in unescape(de.text)
