"""The list view and the sidebar's lists through HTTP, on both databases: what a task row says
(assignee, subtasks, comments), an unreadable filter or search answered 400 with its alert
(200 to htmx, which swaps the part in), reopening, the next page keeping what was asked, and
the lists' forms refused without their token or for another's list; and the near days in
words in another language."""

import re
from datetime import UTC, date, datetime
from html import unescape
from typing import Any

from fastapi import FastAPI

from tests.accounts.helpers import sign_up
from tests.oauth.helpers import form_fields
from tests.support import client_for
from tests.web.test_pages import Account, account, app, signed_in  # noqa: F401 (fixtures)
from todo_api.web.common.shown import task_row, when


async def api(who: Account, method: str, path: str, body: Any = None) -> Any:
    answer = await who.api.request(method, path, json=body, headers=who.headers)
    assert answer.is_success, answer.text
    return answer.json()


async def test_a_row_says_whom_it_is_assigned_to_its_subtasks_and_comments(
    signed_in: Account,  # noqa: F811
) -> None:
    me = await api(signed_in, "GET", "/api/auth/me")
    home = await api(signed_in, "POST", "/api/lists", {"name": "Home"})
    task = {"title": "Paint", "list_id": home["id"], "assignee_id": me["id"]}
    paint = await api(signed_in, "POST", "/api/tasks", task)
    for title in ("Buy paint", "Tape the edges", "Paint the wall"):
        await api(signed_in, "POST", "/api/tasks", {"title": title, "parent_id": paint["id"]})
    [first, *_] = await signed_in.tasks(parent_id=paint["id"])
    await api(signed_in, "PATCH", f"/api/tasks/{first['id']}", {"is_completed": True})
    for body in ("White?", "Off-white"):
        await api(signed_in, "POST", f"/api/tasks/{paint['id']}/comments", {"body": body})
    page = await signed_in.browser.get(f"/app/lists/{home['id']}")
    assert page.status_code == 200
    row = page.text[page.text.index(f'id="task-{paint["id"]}"') :]
    row = row[: row.index("</li>")]
    assert f"Assigned to {me['email']}" in row
    assert "Subtasks: 1 of 3 done" in row
    assert "2 comments" in row


async def test_a_row_shows_each_change_of_its_task_at_once(
    signed_in: Account,  # noqa: F811
) -> None:
    """A row is made once for what it shows (shown.task_line): each thing it shows, changed,
    shows on the next page."""
    task = await api(signed_in, "POST", "/api/tasks", {"title": "Paint", "due_date": "2031-03-04"})

    async def row() -> str:
        page = await signed_in.browser.get("/app/")
        assert page.status_code == 200
        text = unescape(page.text[page.text.index(f'id="task-{task["id"]}"') :])
        return text[: text.index("</li>")]

    assert "Paint" in await row()
    assert "priority" not in await row()
    changes = {"title": "Paint <the> fence", "priority": "high", "tags": ["garden"]}
    await api(signed_in, "PATCH", f"/api/tasks/{task['id']}", {**changes, "due_date": "2020-01-02"})
    await api(signed_in, "POST", f"/api/tasks/{task['id']}/comments", {"body": "White"})
    await api(signed_in, "POST", "/api/tasks", {"title": "Buy paint", "parent_id": task["id"]})
    shown = await row()
    for said in ("Paint <the> fence", "priority 1", "@garden", "Overdue, due", "1 comment"):
        assert said in shown, shown
    assert "Subtasks: 0 of 1 done" in shown


async def test_a_member_is_offered_what_their_role_allows(
    signed_in: Account,  # noqa: F811
    app: FastAPI,  # noqa: F811
) -> None:
    """The owner renames and deletes a list; an editor adds to it (quick add) and reorders
    it, and is offered neither; a viewer is offered none of them."""
    home = await api(signed_in, "POST", "/api/lists", {"name": "Home"})
    await api(signed_in, "POST", "/api/tasks", {"title": "Paint", "list_id": home["id"]})
    path = f"/app/lists/{home['id']}"
    offers = {
        "quick add": 'action="/app/quick"',
        "rename": f'action="{path}/rename"',
        "delete": f'href="{path}/delete"',
        "reorder": "data-reorder",
    }

    def offered(html: str) -> set[str]:
        return {name for name, mark in offers.items() if mark in html}

    assert offered((await signed_in.browser.get(path)).text) == set(offers)
    for role, allowed in (("editor", {"quick add", "reorder"}), ("viewer", set())):
        link = await api(signed_in, "POST", f"/api/lists/{home['id']}/invitations", {"role": role})
        async with client_for(app) as api_client, client_for(app) as browser:
            member = Account(api_client, browser, await sign_up(api_client))
            await api(member, "POST", "/api/invitations/accept", {"token": link["token"]})
            assert (await member.sign_in()).status_code == 303
            page = await member.browser.get(path)
            assert page.status_code == 200, page.text
            assert offered(page.text) == allowed, role


async def test_a_repeat_rule_changed_is_said_in_words_in_the_activity(
    signed_in: Account,  # noqa: F811
) -> None:
    task = await api(signed_in, "POST", "/api/tasks", {"title": "Water", "due_date": "2030-05-06"})
    rule = {"recurrence": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;COUNT=5"}
    await api(signed_in, "PATCH", f"/api/tasks/{task['id']}", rule)
    for language, said in (
        ("en", "You changed the repetition to every 2 weeks, on Monday and Friday, 5 times"),
        ("de", "alle 2 Wochen, am Montag und Freitag, 5 Mal"),
    ):
        page = await signed_in.browser.get(
            f"/app/tasks/{task['id']}", headers={"Accept-Language": language}
        )
        assert page.status_code == 200, page.text
        assert said in unescape(page.text), language
        assert "FREQ=WEEKLY" not in page.text.split('id="activity-heading"')[-1], language


async def test_a_due_day_or_time_changed_is_one_sentence_in_the_activity(
    signed_in: Account,  # noqa: F811
) -> None:
    """A day comes with its midnight as `due_at`, and a time clears the day: each change of the
    due is said once."""
    task = await api(signed_in, "POST", "/api/tasks", {"title": "Water"})
    path = f"/api/tasks/{task['id']}"
    await api(signed_in, "PATCH", path, {"due_date": "2030-05-06"})
    await api(signed_in, "PATCH", path, {"due_at": "2030-05-07T10:00:00Z"})
    await api(signed_in, "PATCH", path, {"due_date": "2030-05-09"})
    page = await signed_in.browser.get(f"/app/tasks/{task['id']}")
    assert page.status_code == 200, page.text
    activity = unescape(page.text.split('id="activity-heading"')[-1])
    said = re.findall(r"You changed the due date to ([^<]+?)\s*<", activity)
    assert len(said) == 3, said
    assert said[0].startswith("9 May"), said
    assert said[2].startswith("6 May"), said
    assert "cleared the due date" not in activity


async def test_an_unreadable_filter_or_search_says_so(signed_in: Account) -> None:  # noqa: F811
    await api(signed_in, "POST", "/api/tasks", {"title": "Milk", "priority": "high"})
    unread = await signed_in.browser.get("/app/", params={"filter": "p1 & ("})
    assert unread.status_code == 400
    alert = re.search(r'role="alert">([^<]+)<', unread.text)
    assert alert is not None
    assert re.search(r"at position \d+", alert[1])
    assert 'value="p1 &amp; ("' in unread.text  # what was typed stays
    assert ">Milk</a>" not in unread.text
    assert 'Inbox <span class="count">1 open</span>' in unread.text  # the sidebar counts
    typing = await signed_in.browser.get(
        "/app/", params={"filter": "p1 & ("}, headers={"HX-Request": "true"}
    )
    assert typing.status_code == 200  # htmx swaps the part with its alert in
    assert 'role="alert"' in typing.text
    too_long = await signed_in.browser.get("/app/", params={"q": "x" * 201})
    assert too_long.status_code == 400
    assert "q: is longer than 200 characters" in too_long.text
    found = await signed_in.browser.get("/app/", params={"q": "MILK", "filter": "p1"})
    assert found.status_code == 200
    assert ">Milk</a>" in found.text
    missed = await signed_in.browser.get("/app/", params={"q": "bread"})
    assert ">Milk</a>" not in missed.text
    assert "No tasks match." in missed.text


async def test_the_next_page_keeps_the_search_and_the_filter(signed_in: Account) -> None:  # noqa: F811
    operations = [
        {"op": "create", "data": {"title": f"Milk {n:02}", "priority": "high"}} for n in range(51)
    ]
    await api(signed_in, "POST", "/api/tasks/bulk", {"operations": operations})
    await api(signed_in, "POST", "/api/tasks", {"title": "Bread", "priority": "high"})
    first = await signed_in.browser.get("/app/", params={"q": "milk", "filter": "p1"})
    more = re.search(r'<a href="([^"]+)"[^>]*hx-trigger="revealed"', first.text)
    assert more is not None
    second = await signed_in.browser.get(unescape(more[1]))
    assert second.status_code == 200
    assert re.findall(r">(Milk \d\d)</a>", second.text) == ["Milk 50"]
    assert 'value="milk"' in second.text


async def test_completed_tasks_on_request_and_reopened(signed_in: Account) -> None:  # noqa: F811
    walk = await api(signed_in, "POST", "/api/tasks", {"title": "Walk the dog"})
    await api(signed_in, "PATCH", f"/api/tasks/{walk['id']}", {"is_completed": True})
    assert ">Walk the dog</a>" not in (await signed_in.browser.get("/app/")).text
    shown = await signed_in.browser.get("/app/?completed=1")
    assert 'aria-checked="true" aria-label="Reopen Walk the dog"' in shown.text
    assert ">Hide completed</a>" in shown.text
    token = form_fields(shown.text)["csrf_token"]
    back = "/app/?completed=1"
    swapped = await signed_in.browser.post(
        f"/app/tasks/{walk['id']}/reopen",
        data={"csrf_token": token, "back": back},
        headers={"HX-Request": "true"},
    )
    assert swapped.status_code == 200
    assert swapped.text.lstrip().startswith('<li class="task"')
    assert 'aria-label="Complete Walk the dog"' in swapped.text
    assert (await signed_in.tasks())[0]["is_completed"] is False
    done = await signed_in.browser.post(
        f"/app/tasks/{walk['id']}/complete",
        data={"csrf_token": token, "back": back},
        headers={"HX-Request": "true"},
    )
    assert 'aria-label="Reopen Walk the dog"' in done.text  # completed ones are shown here
    reopened = await signed_in.browser.post(
        f"/app/tasks/{walk['id']}/reopen", data={"csrf_token": token, "back": back}
    )
    assert reopened.status_code == 303
    assert reopened.headers["location"] == back


async def test_the_lists_forms_need_their_token_and_a_list_of_ones_own(
    signed_in: Account,  # noqa: F811
) -> None:
    refused = await signed_in.browser.post("/app/lists", data={"name": "Sneaky"})
    assert refused.status_code == 403
    assert await api(signed_in, "GET", "/api/lists") == []
    page = await signed_in.browser.get("/app/")
    token = form_fields(page.text)["csrf_token"]
    answer = await signed_in.browser.post("/app/lists", data={"csrf_token": token, "name": "Mine"})
    assert answer.status_code == 303
    [mine] = await api(signed_in, "GET", "/api/lists")
    assert answer.headers["location"] == f"/app/lists/{mine['id']}"
    for list_id in ("00000000-0000-0000-0000-000000000000", "not-an-id"):
        for action in ("rename", "move", "delete"):
            other = await signed_in.browser.post(
                f"/app/lists/{list_id}/{action}",
                data={"csrf_token": token, "name": "Taken", "direction": "up"},
            )
            assert other.status_code == 404, action
    taken = await signed_in.browser.post("/app/lists", data={"csrf_token": token, "name": "MINE"})
    assert taken.status_code == 400
    assert "already have a list" in taken.text
    assert [one["name"] for one in await api(signed_in, "GET", "/api/lists")] == ["Mine"]


def test_the_near_days_are_words_in_the_pages_language() -> None:
    now = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # a Friday
    assert when(date(2026, 11, 30), now, "de") == "Montag"
    assert when(date(2026, 11, 27), now, "en") == "Today"
    assert when(date(2026, 11, 26), now, "en") == "Yesterday"
    assert when(date(2026, 12, 4), now, "en") == "Dec 4, 2026"  # a week ahead: the date
    assert when(date(2026, 12, 3), now, "fr") == "jeudi"
    tomorrow = when(datetime(2026, 11, 28, 9, 5, tzinfo=UTC), now, "en")
    assert tomorrow.startswith("Tomorrow, 9:05")
    task = {"title": "Late", "due_at": "2026-11-27T14:00:00+00:00", "is_completed": False}
    assert task_row(task, "UTC", "en", now)["overdue"] is True
    assert task_row({**task, "is_completed": True}, "UTC", "en", now)["overdue"] is False
    assert (
        task_row({**task, "due_at": None, "due_date": "2026-11-27"}, "UTC", "en", now)["overdue"]
        is False
    )  # due all day today: not yet


async def test_a_lists_owner_pages_and_forms_are_its_owners(
    signed_in: Account,  # noqa: F811
    app: FastAPI,  # noqa: F811
) -> None:
    """Deleting, renaming, managing the people of and handing over a list are its owner's: an
    editor or a viewer (who may see the list) gets 403 and no owner's form, someone else 404
    as for a list that does not exist, and the list stays as it was."""
    home = await api(signed_in, "POST", "/api/lists", {"name": "Home"})
    path = f"/app/lists/{home['id']}"
    delete_form = f'action="{path}/delete"'
    assert delete_form in (await signed_in.browser.get(f"{path}/delete")).text
    owners_forms = (delete_form, f'action="{path}/rename"', f'action="{path}/invitations"')
    owners_forms += (f'action="{path}/handover"',)

    def offers_the_owners(page: str) -> bool:
        """Whether a form of the owner's is on the page (not the hidden one every page has,
        which posts to the page's own address)."""
        shown = re.sub(r'<form id="rows"[^>]*>', "", page)
        return any(form in shown for form in owners_forms)

    for role in ("editor", "viewer", None):
        async with client_for(app) as api_client, client_for(app) as browser:
            other = Account(api_client, browser, await sign_up(api_client))
            if role is not None:
                link = await api(
                    signed_in, "POST", f"/api/lists/{home['id']}/invitations", {"role": role}
                )
                await api(other, "POST", "/api/invitations/accept", {"token": link["token"]})
            if role == "editor":  # what is refused is said in the person's language
                await api(other, "PATCH", "/api/auth/me", {"language": "de"})
            assert (await other.sign_in()).status_code == 303
            refused = 404 if role is None else 403
            page = await other.browser.get(f"{path}/delete")
            assert page.status_code == refused, (role, page.text)
            if role == "editor":
                assert "Das darf nur, wem die Liste gehört" in page.text
            assert not offers_the_owners(page.text), role
            sharing = await other.browser.get(f"{path}/sharing")
            assert sharing.status_code == (404 if role is None else 200), role
            assert not offers_the_owners(sharing.text), role
            me = await api(other, "GET", "/api/auth/me")
            token = form_fields((await other.browser.get("/app/")).text)["csrf_token"]
            posts = {
                "delete": {},
                "rename": {"name": "Mine now"},
                "invitations": {"role": "editor"},
                "handover": {"member_id": me["id"], "confirmed": "yes"},
                f"members/{me['id']}/role": {"role": "editor"},
            }
            for action, fields in posts.items():
                answer = await other.browser.post(
                    f"{path}/{action}", data={"csrf_token": token, **fields}
                )
                assert answer.status_code == refused, (role, action, answer.text)
                assert not offers_the_owners(answer.text), (role, action)
    [kept] = await api(signed_in, "GET", "/api/lists")
    assert (kept["name"], kept["role"], kept["member_count"]) == ("Home", "owner", 3)
