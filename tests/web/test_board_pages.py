"""A list's sections and its board through HTTP, on both databases: the sections as headings
with their tasks, `Add section`, renaming and deleting one (its tasks kept or not), each
mistake said on the page (never a 500); `View` (`List` | `Board`) kept per list and person;
the board's columns in order with `(No section)` first only when it has tasks; a card moved
by its `Move to…` form (no JavaScript), by the scripts' one move, and added by a column's quick
add; a column moved; and a viewer offered none of it."""

import re
from html import unescape
from typing import Any

import pytest
from fastapi import FastAPI

from tests.accounts.helpers import sign_up
from tests.oauth.helpers import form_fields
from tests.support import client_for
from tests.web.test_pages import Account, account, app, signed_in  # noqa: F401 (fixtures)


async def api(who: Account, method: str, path: str, body: Any = None) -> Any:
    answer = await who.api.request(method, path, json=body, headers=who.headers)
    assert answer.is_success, answer.text
    return answer.json() if answer.content else None


async def a_list(who: Account) -> tuple[str, dict[str, str], dict[str, str]]:
    """`Work` with sections `Doing` and `Done` and tasks in each and in none: its id, the
    sections' ids and the tasks' ids by name."""
    work = (await api(who, "POST", "/api/lists", {"name": "Work"}))["id"]
    sections = {
        name: (await api(who, "POST", f"/api/lists/{work}/sections", {"name": name}))["id"]
        for name in ("Doing", "Done")
    }
    tasks = {}
    for title, section in (
        ("Loose", None),
        ("Write", "Doing"),
        ("Test", "Doing"),
        ("Ship", "Done"),
    ):
        body = {"title": title, "list_id": work, "section_id": sections.get(section or "")}
        tasks[title] = (await api(who, "POST", "/api/tasks", body))["id"]
    return work, sections, tasks


def headings(html: str) -> list[str]:
    return [
        unescape(found)
        for found in re.findall(r"<h2 id=\"(?:section|column)-[^\"]+\">([^<]*)</h2>", html)
    ]


def titles_in(html: str, key: str) -> list[str]:
    """The titles of the tasks under the heading (or in the column) `key` (a section's id)."""
    start = html.index(f'data-section="{key}"' if 'id="board"' in html else f'id="section-{key}"')
    part = html[start:]
    end = part.find("</section>")
    return [
        unescape(title)
        for title in re.findall(r'push-url="true" href="[^"]+">([^<]*)</a>', part[:end])
    ]


async def in_section(who: Account, work: str, section: str) -> list[str]:
    found = await who.tasks(list_id=work, section_id=section, sort="position")
    return [task["title"] for task in found]


async def post(who: Account, work: str, action: str, **fields: str) -> Any:
    page = f"/app/lists/{work}"
    return await who.post(page, action, back=page, **fields)


async def test_sections_are_headings_added_renamed_and_deleted_from_the_page(
    signed_in: Account,  # noqa: F811
) -> None:
    work, sections, _tasks = await a_list(signed_in)
    page = await signed_in.browser.get(f"/app/lists/{work}")
    assert page.status_code == 200
    assert headings(page.text) == ["Doing", "Done"]
    assert titles_in(page.text, sections["Doing"]) == ["Write", "Test"]
    assert titles_in(page.text, sections["Done"]) == ["Ship"]
    loose = page.text.index(">Loose</a>")
    assert loose < page.text.index('id="section-')  # the tasks in no section first
    assert "Add section" in page.text

    added = await post(signed_in, work, f"/app/lists/{work}/sections", name="Later")
    assert added.status_code == 303
    assert headings((await signed_in.browser.get(f"/app/lists/{work}")).text)[-1] == "Later"
    taken = await post(signed_in, work, f"/app/lists/{work}/sections", name="doing")
    assert taken.status_code == 409
    assert 'role="alert"' in taken.text
    blank = await post(signed_in, work, f"/app/lists/{work}/sections", name="  ")
    assert blank.status_code == 400

    # Each heading links to the section's page, whose forms go back to the list.
    shown = await signed_in.browser.get(f"/app/sections/{sections['Doing']}?back=/app/lists/{work}")
    assert shown.status_code == 200
    for said in ("Rename section", "Move left", "Keep its tasks in the list", "Delete section"):
        assert said in shown.text
    assert f'name="back" value="/app/lists/{work}"' in shown.text
    other = await signed_in.browser.get(f"/app/sections/{work}")
    assert other.status_code == 404

    renamed = await post(
        signed_in, work, f"/app/sections/{sections['Doing']}/rename", name="In progress"
    )
    assert renamed.status_code == 303
    listed = await api(signed_in, "GET", f"/api/lists/{work}/sections")
    assert [section["name"] for section in listed] == ["In progress", "Done", "Later"]
    clash = await post(signed_in, work, f"/app/sections/{sections['Doing']}/rename", name="Done")
    assert clash.status_code == 409

    # Deleted keeping its tasks: they stay in the list without a section; else they go.
    kept = await post(signed_in, work, f"/app/sections/{sections['Doing']}/delete", keep_tasks="1")
    assert kept.status_code == 303
    assert await in_section(signed_in, work, "none") == ["Loose", "Write", "Test"]
    gone = await post(signed_in, work, f"/app/sections/{sections['Done']}/delete")
    assert gone.status_code == 303
    assert [task["title"] for task in await signed_in.tasks(list_id=work, sort="position")] == [
        "Loose",
        "Write",
        "Test",
    ]
    missing = await post(signed_in, work, f"/app/sections/{sections['Done']}/delete")
    assert missing.status_code == 404


async def test_the_view_is_kept_per_list_and_the_board_shows_a_column_a_section(
    signed_in: Account,  # noqa: F811
) -> None:
    work, sections, tasks = await a_list(signed_in)
    home = (await api(signed_in, "POST", "/api/lists", {"name": "Home"}))["id"]
    chosen = await post(signed_in, work, "/app/view", view="board")
    assert chosen.status_code == 303
    board = (await signed_in.browser.get(f"/app/lists/{work}")).text
    assert 'aria-label="Board"' in board
    assert headings(board) == ["(No section)", "Doing", "Done"]
    assert titles_in(board, "none") == ["Loose"]
    assert titles_in(board, sections["Doing"]) == ["Write", "Test"]
    assert 'aria-pressed="true">Board' in board
    assert board.count('<details class="move-to">') == 4  # a form each card
    assert "Add section" in board
    # The other list, and the inbox, stay lists.
    assert 'aria-label="Board"' not in (await signed_in.browser.get(f"/app/lists/{home}")).text
    # `(No section)` shows only when it has tasks.
    await api(signed_in, "DELETE", f"/api/tasks/{tasks['Loose']}")
    board = (await signed_in.browser.get(f"/app/lists/{work}")).text
    assert headings(board) == ["Doing", "Done"]
    # Back to the list; a view that is none, or a page that is no list, is refused.
    await post(signed_in, work, "/app/view", view="list")
    assert 'aria-label="Board"' not in (await signed_in.browser.get(f"/app/lists/{work}")).text
    assert (await post(signed_in, work, "/app/view", view="table")).status_code == 404
    inbox = await signed_in.post("/app/", "/app/view", back="/app/", view="board")
    assert inbox.status_code == 404


async def test_a_card_moves_by_its_form_by_the_scripts_move_and_is_added_in_a_column(
    signed_in: Account,  # noqa: F811
) -> None:
    work, sections, tasks = await a_list(signed_in)
    doing, done = sections["Doing"], sections["Done"]
    await post(signed_in, work, "/app/view", view="board")

    # Move to… (no JavaScript): into `Doing` at position 2, then `Done` at the top.
    moved = await post(
        signed_in, work, f"/app/tasks/{tasks['Loose']}/move-to", section_id=doing, position="2"
    )
    assert moved.status_code == 303
    assert await in_section(signed_in, work, doing) == ["Write", "Loose", "Test"]
    await post(
        signed_in, work, f"/app/tasks/{tasks['Write']}/move-to", section_id=done, position="1"
    )
    assert await in_section(signed_in, work, done) == ["Write", "Ship"]
    await post(
        signed_in, work, f"/app/tasks/{tasks['Test']}/move-to", section_id="none", position="9"
    )
    assert await in_section(signed_in, work, "none") == ["Test"]
    for fields in ({"section_id": "nowhere"}, {"section_id": doing, "position": "two"}):
        refused = await post(signed_in, work, f"/app/tasks/{tasks['Test']}/move-to", **fields)
        assert refused.status_code == 400
        assert 'role="alert"' in refused.text

    # The scripts' move: one request, the section and the card now above it.
    token = form_fields((await signed_in.browser.get(f"/app/lists/{work}")).text)["csrf_token"]
    answer = await signed_in.browser.post(
        f"/app/tasks/{tasks['Test']}/move",
        data={"csrf_token": token, "section_id": done, "after": tasks["Write"]},
    )
    assert answer.status_code == 204
    assert await in_section(signed_in, work, done) == ["Write", "Test", "Ship"]
    answer = await signed_in.browser.post(
        f"/app/tasks/{tasks['Test']}/move", data={"csrf_token": token, "section_id": "x"}
    )
    assert answer.status_code == 400

    # A column's quick add puts the task in its section.
    added = await post(
        signed_in, work, "/app/quick", text="Review p1", list_id=work, section_id=doing
    )
    assert added.status_code == 303
    assert await in_section(signed_in, work, doing) == ["Loose", "Review"]
    elsewhere = await post(
        signed_in, work, "/app/quick", text="Call #Work", list_id=work, section_id="nope"
    )
    assert elsewhere.status_code == 400


async def test_a_column_moves_by_the_scripts_and_by_its_buttons(
    signed_in: Account,  # noqa: F811
) -> None:
    work, sections, _tasks = await a_list(signed_in)
    later = (await api(signed_in, "POST", f"/api/lists/{work}/sections", {"name": "Later"}))["id"]

    async def order() -> list[str]:
        return [s["name"] for s in await api(signed_in, "GET", f"/api/lists/{work}/sections")]

    token = form_fields((await signed_in.browser.get(f"/app/lists/{work}")).text)["csrf_token"]
    answer = await signed_in.browser.post(
        f"/app/sections/{later}/move", data={"csrf_token": token, "before": sections["Doing"]}
    )
    assert answer.status_code == 204
    assert await order() == ["Later", "Doing", "Done"]
    right = await post(signed_in, work, f"/app/sections/{later}/move", direction="right")
    assert right.status_code == 303
    assert await order() == ["Doing", "Later", "Done"]
    await post(signed_in, work, f"/app/sections/{sections['Doing']}/move", direction="left")
    assert await order() == ["Doing", "Later", "Done"]  # first already: it stays
    for fields in ({"before": "x"}, {"after": later}):
        answer = await signed_in.browser.post(
            f"/app/sections/{later}/move", data={"csrf_token": token, **fields}
        )
        assert answer.status_code == 400


@pytest.mark.parametrize("role", ["viewer", "editor"])
async def test_a_member_is_offered_what_their_role_allows(
    signed_in: Account,  # noqa: F811
    app: FastAPI,  # noqa: F811
    role: str,
) -> None:
    work, sections, tasks = await a_list(signed_in)
    async with client_for(app) as other_api, client_for(app) as other_browser:
        other = Account(other_api, other_browser, await sign_up(other_api))
        link = await api(signed_in, "POST", f"/api/lists/{work}/invitations", {"role": role})
        await api(other, "POST", "/api/invitations/accept", {"token": link["token"]})
        assert (await other.sign_in()).status_code == 303
        await post(other, work, "/app/view", view="board")  # each person's own view
        board = (await other.browser.get(f"/app/lists/{work}")).text
        assert 'aria-label="Board"' in board
        mine = (await signed_in.browser.get(f"/app/lists/{work}")).text
        assert 'aria-label="Board"' not in mine
        offered = ('class="move-to"', "Add section", 'href="/app/sections/', "data-board")
        assert all((said in board) == (role == "editor") for said in offered)
        moved = await post(
            other, work, f"/app/tasks/{tasks['Loose']}/move-to", section_id=sections["Done"]
        )
        assert moved.status_code == (303 if role == "editor" else 403)
        added = await post(other, work, f"/app/lists/{work}/sections", name="Mine")
        assert added.status_code == (303 if role == "editor" else 403)


async def test_an_empty_section_is_said_so_only_on_a_page_showing_the_whole_list(
    signed_in: Account,  # noqa: F811
) -> None:
    work, _sections, _tasks = await a_list(signed_in)
    empty = (await api(signed_in, "POST", f"/api/lists/{work}/sections", {"name": "Later"}))["id"]
    said = "No tasks in this section."
    page = await signed_in.browser.get(f"/app/lists/{work}")
    assert titles_in(page.text, empty) == []
    assert said in page.text
    # More than a page: the tasks of a section may be on another page, so nothing is said.
    create = {"op": "create", "data": {"title": "Loose", "list_id": work}}
    await api(signed_in, "POST", "/api/tasks/bulk", {"operations": [create] * 60})
    first = await signed_in.browser.get(f"/app/lists/{work}")
    assert "Later" in headings(first.text)
    assert said not in first.text
    after = re.search(r'<p id="more"><a href="([^"]+)"', first.text)
    assert after is not None
    second = await signed_in.browser.get(unescape(after.group(1)))
    assert second.status_code == 200
    assert said not in second.text
