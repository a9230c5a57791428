"""The sidebar through HTTP, on both databases: every page that shows it shows the same one
(Inbox, Today, Upcoming, each list and, under `Filters`, each saved filter, each with its open
tasks counted), and its counts follow the changes; and on PostgreSQL the inbox's statements
are planned once, as the API's list is."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from tests.accounts.helpers import sign_up
from tests.notifications.test_notifications import made
from tests.support import app_for, client_for
from tests.tasks.test_plans import CALLS, _one, _plans, own_database  # noqa: F401 (fixture)
from tests.web.test_pages import Account, account, app, signed_in  # noqa: F401 (fixtures)
from tests.web.test_views_pages import api
from todo_api.config import Settings
from todo_api.db.database import Connection, PostgresConnection, SqliteConnection


async def sidebar(who: Account, path: str) -> list[str]:
    """The sidebar's links as the page at `path` shows them (which one is the current page
    aside), and its headings."""
    page = await who.browser.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'<nav aria-label="Lists">(.*?)</nav>', page.text, re.S)
    assert found is not None, path
    links = re.findall(r"<a [^>]*>.*?</a>|<h2[^>]*>.*?</h2>", found[1], re.S)
    return [link.replace(' aria-current="page"', "") for link in links]


def soon(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


async def a_person_with_lists_and_filters(who: Account) -> dict[str, Any]:
    home = await api(who, "POST", "/api/lists", {"name": "Home"})
    for title in ("Water the plants", "Fix the tap"):
        await api(who, "POST", "/api/tasks", {"title": title, "list_id": home["id"]})
    overdue = await api(who, "POST", "/api/tasks", {"title": "Pay rent", "due_date": "2020-01-02"})
    await api(who, "POST", "/api/tasks", {"title": "Call Sam", "due_date": soon(3)})
    await api(who, "POST", "/api/tasks", {"title": "Urgent one", "priority": "high"})
    urgent = await api(who, "POST", "/api/filters", {"name": "Urgent", "query": "p1"})
    return {"home": home, "overdue": overdue, "urgent": urgent}


async def test_every_page_with_the_sidebar_shows_the_same_with_counts_and_filters(
    signed_in: Account,  # noqa: F811
) -> None:
    made = await a_person_with_lists_and_filters(signed_in)
    home, urgent = made["home"]["id"], made["urgent"]["id"]
    inbox = await sidebar(signed_in, "/app/")
    assert inbox == [  # Upcoming: the overdue one too, as its page shows it
        '<a href="/app/">Inbox <span class="count">3 open</span></a>',
        '<a href="/app/today">Today <span class="count">1 open</span></a>',
        # Upcoming counts the overdue task too, as its page shows it first.
        '<a href="/app/upcoming">Upcoming <span class="count">2 open</span></a>',
        f'<a href="/app/lists/{home}">Home <span class="count">2 open</span></a>',
        '<h2 class="side-heading">Filters</h2>',
        f'<a href="/app/filters/{urgent}">Urgent <span class="count">1 open</span></a>',
    ]
    pages = [
        f"/app/tasks/{made['overdue']['id']}",
        "/app/settings/profile",
        "/app/settings/security",
        "/app/settings/tokens",
        "/app/settings/data",
        f"/app/lists/{home}/sharing",
        f"/app/lists/{home}/activity",
        f"/app/lists/{home}/delete",
        "/app/notifications",
        "/app/today",
        f"/app/lists/{home}",
        f"/app/filters/{urgent}",
    ]
    for path in pages:
        assert await sidebar(signed_in, path) == inbox, path


async def test_the_sidebars_counts_follow_the_changes(signed_in: Account) -> None:  # noqa: F811
    made = await a_person_with_lists_and_filters(signed_in)
    home = made["home"]["id"]
    await api(signed_in, "PATCH", f"/api/tasks/{made['overdue']['id']}", {"is_completed": True})
    await api(signed_in, "POST", "/api/tasks", {"title": "Buy milk", "due_date": soon(0)})
    await api(signed_in, "POST", "/api/tasks", {"title": "Paint", "list_id": home})
    await api(signed_in, "POST", "/api/tasks", {"title": "Also urgent", "priority": "high"})
    await api(signed_in, "POST", "/api/filters", {"name": "Later", "query": "no date"})
    shown = await sidebar(signed_in, "/app/settings/profile")
    assert shown[:4] == [
        '<a href="/app/">Inbox <span class="count">4 open</span></a>',
        '<a href="/app/today">Today <span class="count">1 open</span></a>',
        '<a href="/app/upcoming">Upcoming <span class="count">2 open</span></a>',
        f'<a href="/app/lists/{home}">Home <span class="count">3 open</span></a>',
    ]
    assert [re.sub(r'href="[^"]+"', "", link) for link in shown[4:]] == [
        '<h2 class="side-heading">Filters</h2>',
        '<a >Urgent <span class="count">2 open</span></a>',
        '<a >Later <span class="count">5 open</span></a>',
    ]
    assert shown == await sidebar(signed_in, "/app/")


async def test_the_inbox_and_its_sidebar_reuse_their_plans(
    own_database: Settings,  # noqa: F811
) -> None:
    """The inbox's page of tasks and its sidebar (the counts of Inbox, Today and Upcoming, the
    lists and the bell's count in one statement) are each planned once by PostgreSQL and the
    plan reused, as the API's list is: planning them for each call was most of the page's
    database cost (bench/README.md, "The web app's inbox")."""
    async with (
        app_for(own_database) as made,
        client_for(made) as api_client,
        client_for(made) as browser,
    ):
        who = Account(api_client, browser, await sign_up(api_client))
        assert (await who.sign_in()).status_code == 303
        for title in ("Water the plants", "Pay rent", "Call Sam"):
            await api(who, "POST", "/api/tasks", {"title": title, "due_date": soon(1)})
        for _ in range(CALLS):
            assert (await who.browser.get("/app/")).status_code == 200
        plans = await _plans(made)
    # The first page reads the user's row at the gate and the sidebar without it; the next
    # ones read it with the sidebar (Site.signed_in's `confirms`), and the page of tasks in
    # the same statement.
    both = _one(plans, "FROM notifications", "json", "me_email", "tasks.list_id IS NULL")
    assert "ORDER BY tasks.position" in both["statement"], both
    calls = both["generic_plans"] + both["custom_plans"]
    assert calls >= CALLS - 1, both
    assert both["generic_plans"] >= calls - 5, both  # PostgreSQL plans 5 calls for their values


def counted_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of each statement sent from now on, on either database."""
    sent: list[str] = []

    def counting(run: Any) -> Any:
        async def counted(self: Connection, compiled: Any, args: list[Any]) -> Any:
            sent.append(compiled.sql)
            return await run(self, compiled, args)

        return counted

    for kind in (PostgresConnection, SqliteConnection):
        monkeypatch.setattr(kind, "run", counting(kind.run))
    return sent


async def test_the_inbox_asks_the_database_once(
    signed_in: Account,  # noqa: F811
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The inbox sends one statement to PostgreSQL (it sent four, then three, then two): the
    sidebar's with the sort kept for the inbox and the user's row (read again and checked
    against the one the process remembers: the gate's own statement before), and after its row
    the page of tasks, in the sort the process saw kept last, their subtasks and files counted
    for all of them at once (bench/README.md, "web_page.py: the web app's inbox against the
    API's list"). SQLite, in the process, has no round trip to save: the page of tasks is a
    statement of its own there, each row's subtasks counted with it."""
    for title in ("Water the plants", "Pay rent"):
        await api(signed_in, "POST", "/api/tasks", {"title": title, "due_date": soon(1)})
    assert (await signed_in.browser.get("/app/")).status_code == 200  # the gate knows it works
    sent = counted_statements(monkeypatch)
    page = await signed_in.browser.get("/app/")
    assert page.status_code == 200
    assert "Water the plants" in page.text
    postgres = settings.database_url.startswith("postgresql")
    assert len(sent) == (1 if postgres else 2), sent
    assert "me_email" in sent[0], sent
    # In no list shared with them: no part of the sidebar reads their memberships' roles.
    assert "'editor'" not in sent[0], sent
    assert ("AS page_subtasks" if postgres else "AS subtasks") in sent[-1], sent


async def test_a_sort_kept_since_the_last_page_is_the_one_shown(
    signed_in: Account,  # noqa: F811
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page of tasks read with the sidebar is in the sort the process saw kept last
    (sidebar_pages.KeptViews); a sort kept since (here by the form, as by another process)
    is read with it, and the page read again in that sort. A sort whose page is planned for
    each call (by title) is read on its own; back in the list's own order, the page after the
    first is one statement again."""
    for title in ("Bravo", "Alpha", "Charlie"):
        await api(signed_in, "POST", "/api/tasks", {"title": title})
    assert (await signed_in.browser.get("/app/")).status_code == 200
    sent = counted_statements(monkeypatch)
    own_order, by_title = ["Bravo", "Alpha", "Charlie"], ["Alpha", "Bravo", "Charlie"]
    for sort, seen in (
        ("title", [(by_title, 2), (by_title, 2)]),
        ("manual", [(own_order, 2), (own_order, 1)]),
    ):
        page = await signed_in.browser.get("/app/")
        form = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert form is not None
        kept = await signed_in.browser.post(
            "/app/sort", data={"csrf_token": form[1], "back": "/app/", "sort": sort}
        )
        assert kept.status_code == 303
        for titles, statements in seen:
            sent.clear()
            page = await signed_in.browser.get("/app/")
            assert re.findall(r"(Alpha|Bravo|Charlie)</", page.text) == titles, sort
            # (SQLite reads the page on its own: no round trip to save in the process.)
            postgres = settings.database_url.startswith("postgresql")
            assert len(sent) == (statements if postgres else 2), (sort, sent)


async def test_a_list_shared_and_unshared_counts_in_the_sidebar_and_the_bell_at_once(
    signed_in: Account,  # noqa: F811
    app: FastAPI,  # noqa: F811
    settings: Settings,
) -> None:
    """A person in no list shared with them has their sidebar read without the shared lists'
    parts (sidebar_pages.Unshared); their first page after a list is shared with them counts
    its tasks in Today and Upcoming and its notifications in the bell, and the first after
    they are taken out of it no longer does. The owner of a shared list, in none herself,
    has the list's notifications counted."""
    async with client_for(app) as api_client, client_for(app) as browser:
        ben = Account(api_client, browser, await sign_up(api_client))
        assert (await ben.sign_in()).status_code == 303
        alone = [
            '<a href="/app/">Inbox <span class="count">0 open</span></a>',
            '<a href="/app/today">Today <span class="count">0 open</span></a>',
            '<a href="/app/upcoming">Upcoming <span class="count">0 open</span></a>',
        ]
        for _ in range(2):  # the second is read as for a person sharing nothing
            assert await sidebar(ben, "/app/") == alone
        home = await api(signed_in, "POST", "/api/lists", {"name": "Home"})
        link = await api(
            signed_in, "POST", f"/api/lists/{home['id']}/invitations", {"role": "editor"}
        )
        await api(ben, "POST", "/api/invitations/accept", {"token": link["token"]})
        ben_id = (await api(ben, "GET", "/api/auth/me"))["id"]
        task = {"title": "Water the plants", "list_id": home["id"], "due_date": soon(0)}
        await api(signed_in, "POST", "/api/tasks", {**task, "assignee_id": ben_id})
        await made(settings)
        shared = [
            '<a href="/app/">Inbox <span class="count">0 open</span></a>',
            '<a href="/app/today">Today <span class="count">1 open</span></a>',
            '<a href="/app/upcoming">Upcoming <span class="count">1 open</span></a>',
            f'<a href="/app/lists/{home["id"]}">Home <span class="count">1 open</span></a>',
        ]
        for path in ("/app/", "/app/", "/app/settings/profile"):
            assert await sidebar(ben, path) == shared, path
            page = await ben.browser.get(path)
            assert "Notifications, 1 unread" in page.text, path
        # Alice owns the shared list and is a member of no one's: Ben's joining counts.
        assert "Notifications, 1 unread" in (await signed_in.browser.get("/app/")).text
        taken_out = await signed_in.api.delete(
            f"/api/lists/{home['id']}/members/{ben_id}", headers=signed_in.headers
        )
        assert taken_out.status_code == 204, taken_out.text
        for path in ("/app/", "/app/", "/app/settings/profile"):
            assert await sidebar(ben, path) == alone, path
            page = await ben.browser.get(path)
            assert "Notifications, " not in page.text, path  # no unread count


async def test_a_list_page_shows_the_account_as_it_is_now(
    signed_in: Account,  # noqa: F811
) -> None:
    """The row the process remembers is never shown unless read again the same: a change
    made elsewhere (the API) shows on the next page, and an account gone signs the browser
    out."""
    assert (await signed_in.browser.get("/app/")).status_code == 200
    changed = await signed_in.api.patch(
        "/api/auth/me", json={"name": "Anna Weber", "language": "de"}, headers=signed_in.headers
    )
    assert changed.status_code == 200, changed.text
    for path in ("/app/", "/app/today"):
        page = await signed_in.browser.get(path)
        assert page.status_code == 200
        assert "Anna Weber" in page.text
        assert '<html lang="de"' in page.text
    gone = await signed_in.api.request(
        "DELETE", "/api/auth/me", json={"confirm": signed_in.email}, headers=signed_in.headers
    )
    assert gone.status_code == 204, gone.text
    page = await signed_in.browser.get("/app/")
    assert page.status_code in (303, 401)
    assert "Anna Weber" not in page.text
