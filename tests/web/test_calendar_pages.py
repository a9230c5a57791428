"""A view as a calendar through HTTP, on both databases: `Calendar` kept per view and person
beside `List` and `Board`; the month's grid of days named by their dates, weeks starting on the
language's first day (Sunday in English, Monday in German), dated tasks on their days (timed ones
with their time), a repeating task on each occurrence in the range, undated ones in the tray,
the months before and after by links; a week with the hours; a task added on a chosen day."""

import re
from html import unescape
from typing import Any

import pytest

from tests.tasks.helpers import assert_validation_error
from tests.web.test_board_pages import api
from tests.web.test_pages import Account, account, app, signed_in  # noqa: F401 (fixtures)
from todo_api.db.database import Connection, PostgresConnection, SqliteConnection


def cells(html: str) -> dict[str, str]:
    """Each day's cell of the month's grid by its name: what it shows, as text."""
    found = re.findall(
        r'<td role="gridcell" aria-label="([^"]+)" data-day[^>]*>(.*?)</td>', html, re.DOTALL
    )
    return {unescape(name): unescape(re.sub(r"<[^>]+>", " ", inside)) for name, inside in found}


def tray(html: str) -> str:
    part = html[html.index('id="cal-tray-heading"') :]
    return unescape(re.sub(r"<[^>]+>", " ", part[: part.index("</section>")]))


async def as_calendar(who: Account, path: str) -> int:
    chosen = await who.post(path, "/app/view", back=path, view="calendar")
    return chosen.status_code


async def test_a_list_as_a_calendar_shows_its_month_tray_and_occurrences(
    signed_in: Account,  # noqa: F811
) -> None:
    work = (await api(signed_in, "POST", "/api/lists", {"name": "Work"}))["id"]
    for body in (
        {"title": "Dentist", "due_at": "2030-03-14T09:30:00Z"},
        {"title": "Water plants", "due_date": "2030-03-01", "recurrence": "FREQ=WEEKLY"},
        {"title": "Someday", "due_date": None},
        {"title": "In May", "due_date": "2030-05-10"},
    ):
        await api(signed_in, "POST", "/api/tasks", {**body, "list_id": work})
    page = f"/app/lists/{work}"
    assert await as_calendar(signed_in, page) == 303

    shown = await signed_in.browser.get(f"{page}?month=2030-03")
    assert shown.status_code == 200
    assert 'role="grid"' in shown.text
    assert 'aria-pressed="true">Calendar<' in shown.text
    days = cells(shown.text)
    # English weeks start on Sunday: 24 February to 6 April.
    assert next(iter(days)) == "Sunday, February 24, 2030"
    assert list(days)[-1] == "Saturday, April 6, 2030"
    assert "Dentist" in days["Thursday, March 14, 2030"]
    assert "9:30" in days["Thursday, March 14, 2030"]
    repeats = [name for name, text in days.items() if "Water plants" in text]
    assert repeats == [f"Friday, March {day}, 2030" for day in (1, 8, 15, 22, 29)] + [
        "Friday, April 5, 2030"
    ]
    assert not any("In May" in text for text in days.values())
    assert "Someday" in tray(shown.text)
    assert "Dentist" not in tray(shown.text)
    assert f'href="{page}?month=2030-02"' in shown.text
    assert f'href="{page}?month=2030-04"' in shown.text

    # In German the week starts on Monday, and the days are said in German.
    german = await signed_in.browser.get(f"{page}?month=2030-03", headers={"Accept-Language": "de"})
    days = cells(german.text)
    assert next(iter(days)) == "Montag, 25. Februar 2030"
    assert "Dentist" in days["Donnerstag, 14. März 2030"]

    # A week with the hours: the timed task in its hour's row.
    week = await signed_in.browser.get(f"{page}?week=2030-03-14")
    assert week.status_code == 200
    hour = re.search(r'aria-label="Thursday, March 14, 2030, 09:00"[^>]*>(.*?)</td>', week.text)
    assert hour is not None
    assert "Dentist" in hour[1]


async def test_a_task_added_on_a_day_is_due_that_day_and_the_layout_is_kept_per_view(
    signed_in: Account,  # noqa: F811
) -> None:
    work = (await api(signed_in, "POST", "/api/lists", {"name": "Work"}))["id"]
    page = f"/app/lists/{work}"
    assert await as_calendar(signed_in, page) == 303
    chosen = f"{page}?month=2030-03&day=2030-03-20"
    day = await signed_in.browser.get(chosen)
    assert "Add a task on Wednesday, March 20, 2030" in day.text
    added = await signed_in.post(
        chosen, "/app/quick", back=chosen, text="Call Anna", list_id=work, day="2030-03-20"
    )
    assert added.status_code == 303, re.findall('role="alert">([^<]*)', added.text)
    dated = await signed_in.post(
        chosen,
        "/app/quick",
        back=chosen,
        text="Pay rent 2030-03-25",
        list_id=work,
        day="2030-03-20",
    )
    assert dated.status_code == 303
    found = {task["title"]: task for task in await signed_in.tasks(list_id=work)}
    assert found["Call Anna"]["due_date"] == "2030-03-20"
    assert found["Pay rent"]["due_date"] == "2030-03-25"  # the words' date wins

    # Today, Upcoming, the inbox and a saved filter can be a calendar too; only a list a board.
    for path in ("/app/today", "/app/upcoming", "/app/"):
        assert await as_calendar(signed_in, path) == 303
        assert 'role="grid"' in (await signed_in.browser.get(path)).text
    board = await signed_in.post("/app/today", "/app/view", back="/app/today", view="board")
    assert board.status_code == 404
    later = await signed_in.post("/app/later", "/app/view", back="/app/later", view="calendar")
    assert later.status_code == 404
    # Each view keeps its own: another list stays a list, and back to the list is a list.
    home = (await api(signed_in, "POST", "/api/lists", {"name": "Home"}))["id"]
    assert 'role="grid"' not in (await signed_in.browser.get(f"/app/lists/{home}")).text
    await signed_in.post(page, "/app/view", back=page, view="list")
    assert 'role="grid"' not in (await signed_in.browser.get(page)).text


async def test_a_view_of_the_calendar_shows_only_its_tasks(signed_in: Account) -> None:  # noqa: F811
    filtered: Any = await api(signed_in, "POST", "/api/filters", {"name": "Top", "query": "p1"})
    for title, priority in (("Urgent", "high"), ("Calm", "none")):
        body = {"title": title, "priority": priority, "due_date": "2030-03-05"}
        await api(signed_in, "POST", "/api/tasks", body)
    path = f"/app/filters/{filtered['id']}"
    assert await as_calendar(signed_in, path) == 303
    days = cells((await signed_in.browser.get(f"{path}?month=2030-03")).text)
    assert "Urgent" in days["Tuesday, March 5, 2030"]
    assert "Calm" not in days["Tuesday, March 5, 2030"]


async def test_a_task_moved_to_another_day_keeps_its_time_and_a_stale_move_is_refused(
    signed_in: Account,  # noqa: F811
) -> None:
    timed = await api(
        signed_in, "POST", "/api/tasks", {"title": "Call", "due_at": "2030-03-14T09:30:00Z"}
    )
    dated = await api(signed_in, "POST", "/api/tasks", {"title": "Rent", "due_date": "2030-03-01"})
    page = "/app/?month=2030-03"
    moved = await signed_in.post(
        page, f"/app/tasks/{timed['id']}/day", day="2030-03-16", **{"from": "2030-03-14"}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"day": "2030-03-16", "from": "2030-03-14"}
    again = await api(signed_in, "GET", f"/api/tasks/{timed['id']}")
    assert again["due_at"].startswith("2030-03-16T09:30:00")
    # Shown on a day it is no longer due on (moved elsewhere meanwhile): refused, unchanged.
    stale = await signed_in.post(
        page, f"/app/tasks/{timed['id']}/day", day="2030-03-20", **{"from": "2030-03-14"}
    )
    assert stale.status_code == 412
    # Undone: moved back from the day it went to.
    back = await signed_in.post(
        page, f"/app/tasks/{timed['id']}/day", day="2030-03-14", **{"from": "2030-03-16"}
    )
    assert back.status_code == 200
    assert (await api(signed_in, "GET", f"/api/tasks/{timed['id']}"))["due_at"].startswith(
        "2030-03-14T09:30:00"
    )
    all_day = await signed_in.post(
        page, f"/app/tasks/{dated['id']}/day", day="2030-02-28", **{"from": "2030-03-01"}
    )
    assert all_day.status_code == 200
    assert (await api(signed_in, "GET", f"/api/tasks/{dated['id']}"))["due_date"] == "2030-02-28"
    unread = await signed_in.post(page, f"/app/tasks/{dated['id']}/day", day="soon")
    assert unread.status_code == 400


async def test_the_weeks_start_on_the_day_the_profile_names(
    signed_in: Account,  # noqa: F811
) -> None:
    """`week_start` on /api/auth/me and in Settings → Profile: the month's grid, its no-JavaScript
    table and the week with the hours start on that day; null is the language's again."""
    await api(signed_in, "POST", "/api/tasks", {"title": "Dentist", "due_date": "2030-03-14"})
    assert (await api(signed_in, "GET", "/api/auth/me"))["week_start"] is None
    assert await as_calendar(signed_in, "/app/") == 303

    async def first_days(**headers: str) -> tuple[str, str, str]:
        month = await signed_in.browser.get("/app/?month=2030-03", headers=headers)
        week = await signed_in.browser.get("/app/?week=2030-03-14", headers=headers)
        heads = re.findall(r'<th role="columnheader" scope="col"><abbr title="([^"]+)"', month.text)
        return next(iter(cells(month.text))), next(iter(cells(week.text))), heads[0]

    changed = await api(signed_in, "PATCH", "/api/auth/me", {"week_start": "monday"})
    assert changed["week_start"] == "monday"
    assert await first_days() == ("Monday, February 25, 2030", "Monday, March 11, 2030", "Monday")
    await api(signed_in, "PATCH", "/api/auth/me", {"week_start": "saturday"})
    saturday = ("Saturday, February 23, 2030", "Saturday, March 9, 2030", "Saturday")
    assert await first_days() == saturday
    # The profile's choice holds in every language: German's Monday gives way to Sunday.
    await api(signed_in, "PATCH", "/api/auth/me", {"week_start": "sunday"})
    german = await first_days(**{"Accept-Language": "de"})
    assert german == ("Sonntag, 24. Februar 2030", "Sonntag, 10. März 2030", "Sonntag")

    # Settings → Profile offers it, each day named in the page's language; saved by its form.
    profile = await signed_in.browser.get("/app/settings/profile")
    assert '<option value="sunday" selected>Sunday</option>' in profile.text
    assert '<option value="">The language&#39;s</option>' in profile.text
    saved = await signed_in.post(
        "/app/settings/profile",
        "/app/settings/profile",
        timezone="UTC",
        week_start="",
    )
    assert saved.status_code == 303, saved.text
    assert (await api(signed_in, "GET", "/api/auth/me"))["week_start"] is None
    assert await first_days() == ("Sunday, February 24, 2030", "Sunday, March 10, 2030", "Sunday")
    assert await first_days(**{"Accept-Language": "de"}) == (
        "Montag, 25. Februar 2030",
        "Montag, 11. März 2030",
        "Montag",
    )
    refused = await signed_in.post(
        "/app/settings/profile", "/app/settings/profile", timezone="UTC", week_start="friday"
    )
    assert refused.status_code == 400
    assert "week_start" in refused.text
    bad = await signed_in.api.patch(
        "/api/auth/me", json={"week_start": "friday"}, headers=signed_in.headers
    )
    assert_validation_error(bad, "week_start")
    assert (await api(signed_in, "GET", "/api/auth/me"))["week_start"] is None


async def test_the_days_are_the_persons_far_from_utc(signed_in: Account) -> None:  # noqa: F811
    """The range's tasks are placed on the person's clock: 14 hours ahead of UTC, a task due at
    noon UTC on the last day before the grid is on its first day, and one on its last day
    at 11:00 UTC is the next day's, past the grid."""
    await api(signed_in, "PATCH", "/api/auth/me", {"timezone": "Pacific/Kiritimati"})
    for title, due in (("Early", "2030-02-23T12:00:00Z"), ("Late", "2030-04-06T11:00:00Z")):
        await api(signed_in, "POST", "/api/tasks", {"title": title, "due_at": due})
    assert await as_calendar(signed_in, "/app/") == 303
    days = cells((await signed_in.browser.get("/app/?month=2030-03")).text)
    assert "Early" in days["Sunday, February 24, 2030"]
    assert "2:00" in days["Sunday, February 24, 2030"]
    assert not any("Late" in text for text in days.values())


async def test_a_full_day_shows_its_first_three_and_counts_the_rest(
    signed_in: Account,  # noqa: F811
) -> None:
    """A month's day shows its first three tasks on the person's clock (timed first, by time,
    an occurrence of a repeating task among them) and `N more` for the rest, counted on the
    person's days, not UTC's; the chosen day's own list shows every task of that day."""
    await api(signed_in, "PATCH", "/api/auth/me", {"timezone": "Pacific/Kiritimati"})  # UTC+14
    for title, body in (
        ("Weekly standup", {"due_at": "2030-03-06T17:00:00Z", "recurrence": "FREQ=WEEKLY"}),
        ("Early call", {"due_at": "2030-03-13T10:30:00Z"}),  # 00:30 on the 14th
        ("Lunch", {"due_at": "2030-03-13T22:00:00Z"}),  # 12:00
        ("Review", {"due_at": "2030-03-14T01:00:00Z"}),  # 15:00
        ("Late mail", {"due_at": "2030-03-14T09:30:00Z"}),  # 23:30
        ("Pay rent", {"due_date": "2030-03-14"}),
        ("Day before", {"due_at": "2030-03-13T09:00:00Z"}),  # 23:00 on the 13th
    ):
        await api(signed_in, "POST", "/api/tasks", {"title": title, **body})
    assert await as_calendar(signed_in, "/app/") == 303
    fourteenth = "Thursday, March 14, 2030"
    for chosen in ("2030-03-13", "2030-03-14"):
        shown = (await signed_in.browser.get(f"/app/?month=2030-03&day={chosen}")).text
        days = cells(shown)
        cell = days[fourteenth]
        assert re.findall(r"Early call|Weekly standup|Lunch|Review|Late mail|Pay rent", cell) == [
            "Early call",
            "Weekly standup",
            "Lunch",
        ]
        assert "3 more" in cell
        assert "Day before" in days["Wednesday, March 13, 2030"]
        assert "more" not in days["Wednesday, March 13, 2030"]
        assert "Weekly standup" in days["Thursday, March 21, 2030"]
        assert "more" not in days["Thursday, March 21, 2030"]
        whole = re.search(rf'<ul class="cal-tasks" data-day="{chosen}">(.*?)</ul>', shown)
        assert whole is not None
        titles = re.findall(r"<span>([^<]+)</span>", whole[1])
        if chosen == "2030-03-14":
            assert titles == [
                "Early call", "Weekly standup", "Lunch", "Review", "Late mail", "Pay rent"
            ]  # fmt: skip
        else:
            assert titles == ["Day before"]


async def test_a_lists_calendar_asks_the_database_twice(
    signed_in: Account,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A list's month sends two statements: the sidebar's, which names the list (the lists the
    person sees are in it: no statement for the list's own row), and the range's tasks. A list
    that is not theirs is not found, as before (bench/README.md, "web_page.py --calendar")."""
    work = (await api(signed_in, "POST", "/api/lists", {"name": "Work & play"}))["id"]
    await api(
        signed_in,
        "POST",
        "/api/tasks",
        {"title": "Dentist", "due_date": "2030-03-14", "list_id": work},
    )
    page = f"/app/lists/{work}"
    assert await as_calendar(signed_in, page) == 303
    assert (await signed_in.browser.get(page)).status_code == 200  # the gate knows it works
    sent: list[str] = []

    def counting(run: Any) -> Any:
        async def counted(self: Connection, compiled: Any, args: list[Any]) -> Any:
            sent.append(compiled.sql)
            return await run(self, compiled, args)

        return counted

    for kind in (PostgresConnection, SqliteConnection):
        monkeypatch.setattr(kind, "run", counting(kind.run))
    shown = await signed_in.browser.get(f"{page}?month=2030-03")
    assert shown.status_code == 200
    assert "<h1>Work &amp; play</h1>" in shown.text
    assert "<title>Work &amp; play" in shown.text
    assert "Dentist" in cells(shown.text)["Thursday, March 14, 2030"]
    assert len(sent) == 2, sent
    assert "me_email" in sent[0], sent
    sent.clear()
    gone = "/app/lists/00000000-0000-4000-8000-000000000000?month=2030-03"
    assert (await signed_in.browser.get(gone)).status_code == 404
