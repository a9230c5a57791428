"""GET /api/tasks?filter=: every condition of the filter language the contract names, the
operators, groups, paging and errors with their positions, on both databases. Dates are
computed here from the day the test runs (the caller's clock is UTC unless set)."""

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.lists.helpers import create_list
from tests.lists.sharing import share, user_id
from tests.support import validation_details
from tests.tasks.helpers import create_task
from tests.tasks.listing_helpers import Params, list_page, walk_pages


async def titles(
    client: httpx.AsyncClient, query: str, *params: tuple[str, str | int]
) -> list[str]:
    """The titles a filter answers, over every page, in title order."""
    found = await walk_pages(client, [("filter", query), ("sort", "title"), *params])
    return [task["title"] for task in found]


def today() -> date:
    return datetime.now(UTC).date()


def day(offset: int) -> str:
    return (today() + timedelta(days=offset)).isoformat()


def at(offset: int, hour: int = 12) -> str:
    """An instant `offset` days from today, at `hour` UTC."""
    moment = datetime.combine(today() + timedelta(days=offset), datetime.min.time(), UTC)
    return (moment + timedelta(hours=hour)).isoformat().replace("+00:00", "Z")


async def dated(client: httpx.AsyncClient) -> None:
    """Tasks due on either side of today, all-day and timed, one undated and one recurring."""
    await create_task(client, title="yesterday", due_date=day(-1))
    await create_task(client, title="today", due_date=day(0))
    await create_task(client, title="today timed", due_at=at(0, 23))
    await create_task(client, title="tomorrow", due_date=day(1))
    await create_task(client, title="in 6 days", due_at=at(6, 1))
    await create_task(client, title="in 7 days", due_date=day(7))
    await create_task(client, title="undated")
    await create_task(client, title="daily", due_date=day(3), recurrence="FREQ=DAILY")


async def test_today_and_tomorrow_are_days_on_the_callers_clock(alice: httpx.AsyncClient) -> None:
    await dated(alice)
    assert await titles(alice, "today") == ["today", "today timed"]
    assert await titles(alice, "tomorrow") == ["tomorrow"]
    assert await titles(alice, "TODAY | Tomorrow") == ["today", "today timed", "tomorrow"]


async def test_today_follows_the_callers_zone(alice: httpx.AsyncClient) -> None:
    """Far east of UTC, 23:00 UTC today is tomorrow already."""
    response = await alice.patch("/api/auth/me", json={"timezone": "Pacific/Kiritimati"})
    assert response.status_code == 200, response.text
    await create_task(alice, title="late", due_at=at(-1, 23))  # today at 13:00 there
    local_today = datetime.now(UTC).astimezone(ZoneInfo("Pacific/Kiritimati")).date()
    expected = ["late"] if local_today == today() else []
    assert await titles(alice, "today") == expected


async def test_overdue_means_what_overdue_true_means(alice: httpx.AsyncClient) -> None:
    await dated(alice)
    await create_task(alice, title="done late", due_date=day(-2), is_completed=True)
    by_parameter = await walk_pages(alice, [("overdue", "true"), ("completed", "false")])
    assert await titles(alice, "overdue") == sorted(t["title"] for t in by_parameter)
    assert "yesterday" in await titles(alice, "overdue")


async def test_no_date_recurring_and_next_7_days(alice: httpx.AsyncClient) -> None:
    await dated(alice)
    assert await titles(alice, "no date") == ["undated"]
    assert await titles(alice, "no due date") == ["undated"]
    assert await titles(alice, "recurring") == ["daily"]
    assert await titles(alice, "next 7 days") == [
        "daily",
        "in 6 days",
        "today",
        "today timed",
        "tomorrow",
    ]


async def test_due_before_and_after_leave_the_day_named_out(alice: httpx.AsyncClient) -> None:
    await dated(alice)
    assert await titles(alice, f"due before: {day(1)}") == ["today", "today timed", "yesterday"]
    assert await titles(alice, "due before: tomorrow") == ["today", "today timed", "yesterday"]
    assert await titles(alice, f"due after: {day(3)}") == ["in 6 days", "in 7 days"]
    assert await titles(alice, "due after: today & due before: " + day(3)) == ["tomorrow"]


async def test_due_before_and_after_read_dates_as_quick_add_does(alice: httpx.AsyncClient) -> None:
    await create_task(alice, title="nine", due_at=at(0, 9))
    await create_task(alice, title="six", due_at=at(0, 18))
    await create_task(alice, title="all day", due_date=day(0))
    await create_task(alice, title="in 2 days", due_date=day(2))
    await create_task(alice, title="in 3 days", due_date=day(3))
    # A time named: the moments before or after it; an all-day task by its day's start.
    assert await titles(alice, "due before: today 12:00") == ["all day", "nine"]
    assert await titles(alice, "due after: today noon") == ["in 2 days", "in 3 days", "six"]
    assert await titles(alice, "due before: in 3 days & due after: today") == ["in 2 days"]


async def test_priorities_p1_to_p4(alice: httpx.AsyncClient) -> None:
    for priority in ("high", "medium", "low", "none"):
        await create_task(alice, title=priority, priority=priority)
    assert await titles(alice, "p1") == ["high"]
    assert await titles(alice, "p2") == ["medium"]
    assert await titles(alice, "p3") == ["low"]
    assert await titles(alice, "p4") == ["none"]
    assert await titles(alice, "p1 | p4") == ["high", "none"]
    assert await titles(alice, "!p1 & !p4") == ["low", "medium"]


async def test_lists_by_name_and_with_their_subtasks(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    home = await create_list(alice, "Home office")
    parent = await create_task(alice, title="report", list_id=work["id"])
    await create_task(alice, title="report draft", parent_id=parent["id"])
    await create_task(alice, title="desk", list_id=home["id"])
    await create_task(alice, title="loose")
    assert await titles(alice, "#work") == ["report", "report draft"]
    assert await titles(alice, "##Work") == ["report", "report draft"]
    assert await titles(alice, '#"Home office"') == ["desk"]
    assert await titles(alice, "#Home office") == ["desk"]
    assert await titles(alice, "#Inbox") == ["loose"]
    assert await titles(alice, "#Nowhere") == []
    assert await titles(alice, "(#Work | #Inbox) & subtask") == ["report draft"]


async def test_two_hashes_take_a_list_and_every_list_under_it(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    work = await create_list(alice, "Work")
    client = await create_list(alice, "Client", parent_id=work["id"])
    project = await create_list(alice, "Project", parent_id=client["id"])
    home = await create_list(alice, "Home")
    for title, where in (("w", work), ("c", client), ("p", project), ("h", home)):
        await create_task(alice, title=title, list_id=where["id"])
    assert await titles(alice, "#Work") == ["w"]
    assert await titles(alice, "##Work") == ["c", "p", "w"]
    assert await titles(alice, "##Client") == ["c", "p"]
    assert await titles(alice, "##Client | #Home") == ["c", "h", "p"]
    assert await titles(alice, "!##Work") == ["h"]
    # Sharing is per list: a member of the parent alone sees the parent's tasks alone.
    await share(alice, bob, work["id"])
    assert await titles(bob, "##Work") == ["w"]


async def test_tags_and_no_labels(alice: httpx.AsyncClient) -> None:
    await create_task(alice, title="home", tags=["home"])
    await create_task(alice, title="home+work", tags=["work", "home"])
    await create_task(alice, title="untagged")
    assert await titles(alice, "@WORK") == ["home+work"]
    assert await titles(alice, "@home & !@work") == ["home"]
    assert await titles(alice, "no labels") == ["untagged"]
    assert await titles(alice, "@home | no labels") == ["home", "home+work", "untagged"]


async def test_assigned_created_and_shared(
    new_user_client: Callable[..., httpx.AsyncClient],
) -> None:
    bob_email = f"bob-{uuid.uuid4().hex[:8]}@example.com"
    async with new_user_client() as alice, new_user_client(email=bob_email) as bob:
        team = await create_list(alice, "Team")
        await share(alice, bob, team["id"])
        alice_id, bob_id = await user_id(alice), await user_id(bob)
        await create_task(alice, title="mine", list_id=team["id"], assignee_id=alice_id)
        await create_task(alice, title="bobs", list_id=team["id"], assignee_id=bob_id)
        await create_task(bob, title="by bob", list_id=team["id"])
        await create_task(alice, title="private")
        assert await titles(alice, "assigned to: me") == ["mine"]
        assert await titles(alice, "assigned to: others") == ["bobs"]
        assert await titles(alice, f"assigned to: {bob_email.upper()}") == ["bobs"]
        assert await titles(alice, "!assigned to: nobody@example.com & #Team") == [
            "bobs",
            "by bob",
            "mine",
        ]
        assert await titles(alice, "created by: me") == ["bobs", "mine", "private"]
        assert await titles(alice, f"created by: {bob_email}") == ["by bob"]
        assert await titles(alice, "shared") == ["bobs", "by bob", "mine"]
        assert await titles(alice, "!shared") == ["private"]
        # Bob sees the shared list's tasks through the shared part of the listing.
        assert await titles(bob, "assigned to: me") == ["bobs"]
        assert await titles(bob, "created by: me & shared") == ["by bob"]


async def test_search_is_q(alice: httpx.AsyncClient) -> None:
    await create_task(alice, title="Buy milk")
    await create_task(alice, title="Café", description="with Milk")
    await create_task(alice, title="Other")
    found = await walk_pages(alice, [("filter", "search: MILK"), ("sort", "title")])
    assert [t["title"] for t in found] == ["Buy milk", "Café"]
    assert await titles(alice, "search: cafe | search: other") == ["Café", "Other"]


async def test_a_filter_that_searches_counts_as_q_does(alice: httpx.AsyncClient) -> None:
    """Only what its pages have shown, "+" while another page follows (walk_pages checks)."""
    for i in range(5):
        await create_task(alice, title=f"milk {i}")
    await create_task(alice, title="bread")
    params: Params = [("filter", "search: milk | p1"), ("limit", 2)]
    first = await list_page(alice, params)
    assert first.headers["x-total-count"] == "2+"
    assert len(await walk_pages(alice, params)) == 5


async def test_operators_and_parentheses(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    await create_task(alice, title="late work", list_id=work["id"], due_date=day(-3))
    await create_task(alice, title="work today", list_id=work["id"], due_date=day(0))
    await create_task(alice, title="work later", list_id=work["id"], due_date=day(9))
    await create_task(alice, title="home today", due_date=day(0))
    assert await titles(alice, "(today | overdue) & #Work") == ["late work", "work today"]
    assert await titles(alice, "today | overdue & #Work") == [
        "home today",
        "late work",
        "work today",
    ]
    assert await titles(alice, "!(today | overdue)") == ["work later"]
    assert await titles(alice, "!!today") == ["home today", "work today"]


async def test_a_filter_answers_open_tasks_unless_completed_says(alice: httpx.AsyncClient) -> None:
    await create_task(alice, title="open", priority="high")
    await create_task(alice, title="done", priority="high", is_completed=True)
    assert await titles(alice, "p1") == ["open"]
    assert await titles(alice, "p1", ("completed", "true")) == ["done"]


async def test_a_filter_goes_with_the_other_parameters(alice: httpx.AsyncClient) -> None:
    await create_task(alice, title="a", priority="high", tags=["x"])
    await create_task(alice, title="b", priority="high")
    await create_task(alice, title="c", priority="low", tags=["x"])
    assert await titles(alice, "p1", ("tag", "x")) == ["a"]
    found = await walk_pages(alice, [("filter", "p1 | @x"), ("sort", "-title")])
    assert [t["title"] for t in found] == ["c", "b", "a"]


async def test_pages_of_a_filter(alice: httpx.AsyncClient) -> None:
    for i in range(7):
        await create_task(alice, title=f"high {i}", priority="high")
        await create_task(alice, title=f"low {i}", priority="low")
    params: Params = [("filter", "p1"), ("limit", 3), ("sort", "title")]
    first = await list_page(alice, params)
    assert first.headers["x-total-count"] == "7"
    assert "filter=p1" in first.headers["link"]
    walked = await walk_pages(alice, params)
    assert [t["title"] for t in walked] == [f"high {i}" for i in range(7)]
    # A cursor is bound to its filter.
    cursor = first.headers["x-next-cursor"]
    other = await alice.get("/api/tasks", params={"filter": "p3", "cursor": cursor, "limit": 3})
    assert [d["field"] for d in validation_details(other)] == ["cursor"]
    either = await alice.get("/api/tasks", params={"filter": "p1|p3", "cursor": cursor})
    assert [d["field"] for d in validation_details(either)] == ["cursor"]


async def test_groups_answer_each_its_first_page(alice: httpx.AsyncClient) -> None:
    await create_task(alice, title="due today", due_date=day(0))
    await create_task(alice, title="late", due_date=day(-1))
    for i in range(3):
        await create_task(alice, title=f"late {i}", due_date=day(-2))
    response = await alice.get(
        "/api/tasks", params={"filter": "today, overdue", "limit": 2, "sort": "title"}
    )
    assert response.status_code == 200, response.text
    groups = response.json()["groups"]
    assert [g["query"] for g in groups] == ["today", "overdue"]
    assert [t["title"] for t in groups[0]["tasks"]] == ["due today"]
    assert groups[0]["next_cursor"] is None
    # Overdue as overdue=true: an all-day task is due at the start of its day.
    assert [t["title"] for t in groups[1]["tasks"]] == ["due today", "late"]
    # Its cursor pages on as that group's query alone.
    rest = await alice.get(
        "/api/tasks",
        params={
            "filter": "overdue",
            "limit": 2,
            "sort": "title",
            "cursor": groups[1]["next_cursor"],
        },
    )
    assert [t["title"] for t in rest.json()] == ["late 0", "late 1"]
    with_cursor = await alice.get(
        "/api/tasks", params={"filter": "today, overdue", "cursor": groups[1]["next_cursor"]}
    )
    assert [d["field"] for d in validation_details(with_cursor)] == ["cursor"]


@pytest.mark.parametrize(
    ("query", "position", "expected"),
    [
        ("", None, None),
        ("p1\x00", None, None),
        ("(" * 400 + "p1" + ")" * 400, 50, "at most 50 levels"),
        ("x" * 1001, None, None),
        ("p5", 0, "a condition"),
        ("today &", 7, "a condition"),
        ("(today | overdue", 16, "or )"),
        ("today overdue", 6, "the end of the query"),
        ("due before: someday", 12, "a date"),
        ("due after: & p1", 11, "a date"),
        ("assigned to: nobody", 13, "me, others or an email"),
        ("created by: others", 12, "me or an email"),
        ("#", 1, "a list's name"),
        ('@tag & #"open', 13, 'a closing "'),
        ("today,", 6, "a condition"),
        ("search:", 7, "a text to search for"),
    ],
)
async def test_a_query_it_cannot_read_names_the_position(
    alice: httpx.AsyncClient, query: str, position: int | None, expected: str | None
) -> None:
    response = await alice.get("/api/tasks", params={"filter": query})
    (detail,) = validation_details(response)
    assert detail["field"] == "filter"
    if position is not None:
        assert detail["message"].startswith(f"at position {position}: expected "), detail
        assert str(expected) in detail["message"], detail


async def test_a_filter_sees_no_one_elses_tasks(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    await create_list(bob, "Work")
    await create_task(bob, title="bobs", priority="high", tags=["work"])
    await create_task(alice, title="alices", priority="high", tags=["work"])
    assert await titles(alice, "p1 & @work") == ["alices"]
    assert await titles(alice, "#Work") == []
