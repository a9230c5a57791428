"""Cursor pagination of GET /api/tasks on both databases: limits, the paging headers, cursors
that are refused, stability while tasks come and go, and a property test that walks every
page for random data, filters and sorts and compares with a plain Python filter and sort."""

import string
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tasks.helpers import assert_validation_error, create_task
from tests.tasks.listing_helpers import (
    SORTS,
    Params,
    expected_filter,
    expected_order,
    ids,
    list_page,
    next_link,
    walk_pages,
)

PAST_1 = "2001-01-01T00:00:00Z"
PAST_2 = "2002-01-01T00:00:00Z"
FUTURE_1 = "2990-01-01T00:00:00Z"
FUTURE_2 = "2991-01-01T00:00:00Z"


async def create_many(client: httpx.AsyncClient, count: int, **fields: Any) -> list[dict[str, Any]]:
    return [await create_task(client, title=f"Task {n:03}", **fields) for n in range(count)]


def with_cursor(params: Params, cursor: str) -> Params:
    return [*params, ("cursor", cursor)]


# --- limit and the paging headers ---------------------------------------------------------------


async def test_default_limit_is_50_and_the_rest_follows(alice: httpx.AsyncClient) -> None:
    created = await create_many(alice, 55)

    first = await list_page(alice)
    assert len(first.json()) == 50
    assert first.headers["x-total-count"] == "55"
    cursor = first.headers["x-next-cursor"]
    assert next_link(first) is not None

    second = await list_page(alice, [("cursor", cursor)])
    assert len(second.json()) == 5
    assert second.headers["x-total-count"] == "55"
    assert "x-next-cursor" not in second.headers
    assert "link" not in second.headers
    assert ids(first.json()) + ids(second.json()) == ids(created)[::-1]


async def test_a_list_that_fits_one_page_has_no_next_page(alice: httpx.AsyncClient) -> None:
    await create_many(alice, 3)
    response = await list_page(alice)
    assert response.headers["x-total-count"] == "3"
    assert "x-next-cursor" not in response.headers
    assert "link" not in response.headers


async def test_an_empty_list_has_a_zero_total_and_no_next_page(alice: httpx.AsyncClient) -> None:
    response = await list_page(alice, [("limit", 1)])
    assert response.json() == []
    assert response.headers["x-total-count"] == "0"
    assert "x-next-cursor" not in response.headers
    assert "link" not in response.headers


async def test_a_last_page_filled_exactly_has_no_next_page(alice: httpx.AsyncClient) -> None:
    await create_many(alice, 4)
    first = await list_page(alice, [("limit", 2)])
    second = await list_page(alice, [("limit", 2), ("cursor", first.headers["x-next-cursor"])])
    assert len(second.json()) == 2
    assert "x-next-cursor" not in second.headers
    assert "link" not in second.headers


async def test_total_count_is_the_filtered_total_on_every_page(alice: httpx.AsyncClient) -> None:
    await create_many(alice, 5, priority="high")
    await create_many(alice, 3, priority="low")
    params: Params = [("priority", "high"), ("limit", 2)]
    cursor: str | None = None
    sizes = []
    while True:
        response = await list_page(alice, with_cursor(params, cursor) if cursor else params)
        assert response.headers["x-total-count"] == "5"
        sizes.append(len(response.json()))
        cursor = response.headers.get("x-next-cursor")
        if cursor is None:
            break
    assert sizes == [2, 2, 1]


async def test_a_search_counts_the_matches_its_pages_have_shown(alice: httpx.AsyncClient) -> None:
    for n in range(5):
        await create_task(alice, title=f"milk run {n}")
    for n in range(3):
        await create_task(alice, title=f"bread {n}")
    params: Params = [("q", "MILK"), ("limit", 2)]
    cursor: str | None = None
    totals = []
    while True:
        response = await list_page(alice, with_cursor(params, cursor) if cursor else params)
        totals.append(response.headers["x-total-count"])
        cursor = response.headers.get("x-next-cursor")
        if cursor is None:
            break
    assert totals == ["2+", "4+", "5"]


async def test_total_count_ignores_the_limit(alice: httpx.AsyncClient) -> None:
    await create_many(alice, 4)
    response = await list_page(alice, [("limit", 1)])
    assert response.headers["x-total-count"] == "4"


async def test_link_header_is_the_next_page_url_keeping_the_other_parameters(
    alice: httpx.AsyncClient,
) -> None:
    for title in ("a% one", "A% two", "a% three"):
        await create_task(alice, title=title, priority="high", tags=["home"])
    params: Params = [
        ("priority", "high"),
        ("priority", "low"),
        ("tag", "Home"),
        ("q", "a%"),
        ("sort", "-title"),
        ("limit", 1),
    ]
    first = await list_page(alice, params)
    link = next_link(first)
    assert link is not None
    url = urlsplit(link)
    assert url.path == "/api/tasks"
    query = parse_qsl(url.query, keep_blank_values=True)
    assert ("cursor", first.headers["x-next-cursor"]) in query
    assert sorted(pair for pair in query if pair[0] != "cursor") == sorted(
        (name, str(value)) for name, value in params
    )

    followed = await alice.get(link)
    by_cursor = await list_page(alice, with_cursor(params, first.headers["x-next-cursor"]))
    assert followed.status_code == 200
    assert followed.json() == by_cursor.json()
    assert followed.headers["x-next-cursor"] == by_cursor.headers["x-next-cursor"]


async def test_following_link_headers_walks_every_task_once(alice: httpx.AsyncClient) -> None:
    created = await create_many(alice, 7)
    seen: list[str] = []
    url: str | None = "/api/tasks?limit=3&sort=title"
    while url is not None:
        response = await alice.get(url)
        assert response.status_code == 200
        seen += ids(response.json())
        url = next_link(response)
    assert seen == ids(created)


@pytest.mark.parametrize("limit", [1, 2, 6, 7, 8, 200])
async def test_walking_pages_gives_every_task_exactly_once_in_order(
    alice: httpx.AsyncClient, limit: int
) -> None:
    created = await create_many(alice, 7, priority="medium")
    walked = await walk_pages(alice, [("limit", limit), ("sort", "priority")])
    assert ids(walked) == expected_order(created, "priority")


async def test_a_page_after_every_remaining_task_was_deleted_is_empty_with_the_total(
    alice: httpx.AsyncClient,
) -> None:
    created = await create_many(alice, 4)
    first = await list_page(alice, [("limit", 2), ("sort", "created_at")])
    for task in created[2:]:
        await alice.delete(f"/api/tasks/{task['id']}")
    cursor = first.headers["x-next-cursor"]
    second = await list_page(alice, [("limit", 2), ("sort", "created_at"), ("cursor", cursor)])
    assert second.json() == []
    assert second.headers["x-total-count"] == "2"
    assert "x-next-cursor" not in second.headers
    assert "link" not in second.headers


async def test_a_cursor_can_be_used_again(alice: httpx.AsyncClient) -> None:
    await create_many(alice, 5)
    first = await list_page(alice, [("limit", 2)])
    cursor = first.headers["x-next-cursor"]
    once = await list_page(alice, [("limit", 2), ("cursor", cursor)])
    twice = await list_page(alice, [("limit", 2), ("cursor", cursor)])
    assert once.json() == twice.json()


# --- cursors that are refused -------------------------------------------------------------------

BASE64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


def flip(cursor: str, position: int) -> str:
    """The cursor with one character changed in its most significant bit, so that the decoded
    bytes always change (the low bits of the last character can be padding)."""
    changed = BASE64URL[BASE64URL.index(cursor[position]) ^ 32]
    return cursor[:position] + changed + cursor[position + 1 :]


async def list_page_raw(client: httpx.AsyncClient, params: Params) -> httpx.Response:
    return await client.get("/api/tasks", params=params)


async def a_cursor(client: httpx.AsyncClient) -> str:
    await create_many(client, 3)
    response = await list_page(client, [("limit", 1)])
    cursor: str = response.headers["x-next-cursor"]
    return cursor


async def test_a_cursor_with_any_one_character_changed_is_refused(
    alice: httpx.AsyncClient,
) -> None:
    cursor = await a_cursor(alice)
    assert set(cursor) <= set(BASE64URL)
    for position in range(len(cursor)):
        response = await list_page_raw(alice, [("limit", 1), ("cursor", flip(cursor, position))])
        assert_validation_error(response, "cursor")


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("garbage", id="word"),
        pytest.param("", id="empty"),
        pytest.param("a", id="one-character"),
        pytest.param("!!!!", id="not-base64"),
        pytest.param("%00", id="percent-escape"),
        pytest.param("ab\x00cd", id="nul"),
        pytest.param("é", id="non-ascii"),
        pytest.param("A" * 64, id="zeros"),
        pytest.param("WzEsMl0", id="unsigned-json"),
        pytest.param("x" * 1025, id="too-long"),
    ],
)
async def test_a_garbage_cursor_is_refused(alice: httpx.AsyncClient, cursor: str) -> None:
    await create_many(alice, 2)
    response = await list_page_raw(alice, [("limit", 1), ("cursor", cursor)])
    assert_validation_error(response, "cursor")


async def test_another_users_cursor_is_refused(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    cursor = await a_cursor(alice)
    await create_many(bob, 3)
    response = await list_page_raw(bob, [("limit", 1), ("cursor", cursor)])
    assert_validation_error(response, "cursor")


@pytest.mark.parametrize(
    ("made_with", "used_with"),
    [
        pytest.param([], [("sort", "created_at")], id="other-sort"),
        pytest.param([("sort", "title")], [("sort", "-title")], id="other-direction"),
        pytest.param([("sort", "priority")], [], id="default-sort"),
        pytest.param([], [("q", "task")], id="q-added"),
        pytest.param([("q", "task")], [("q", "Task")], id="q-changed"),
        pytest.param([("q", "task")], [], id="q-removed"),
        pytest.param([], [("tag", "home")], id="tag-added"),
        pytest.param([("tag", "home")], [("tag", "home"), ("tag", "x")], id="tag-more"),
        pytest.param([], [("completed", "false")], id="completed-added"),
        pytest.param([("completed", "false")], [("completed", "true")], id="completed-changed"),
        pytest.param([("priority", "high")], [("priority", "low")], id="priority-changed"),
        pytest.param([], [("priority", "high")], id="priority-added"),
        pytest.param([], [("overdue", "false")], id="overdue-added"),
        pytest.param([], [("due_after", PAST_1)], id="due-after-added"),
        pytest.param([("due_before", FUTURE_1)], [("due_before", FUTURE_2)], id="due-before"),
    ],
)
async def test_a_cursor_used_with_another_sort_or_filter_is_refused(
    alice: httpx.AsyncClient, made_with: Params, used_with: Params
) -> None:
    for n in range(3):
        await create_task(alice, title=f"Task {n}", priority="high", tags=["home"], due_at=PAST_2)
    first = await list_page(alice, [*made_with, ("limit", 1)])
    cursor = first.headers["x-next-cursor"]
    response = await list_page_raw(alice, [*used_with, ("limit", 1), ("cursor", cursor)])
    assert_validation_error(response, "cursor")


async def test_changing_only_the_limit_between_pages_is_allowed(alice: httpx.AsyncClient) -> None:
    created = await create_many(alice, 7, tags=["x"])
    params: Params = [("sort", "title"), ("tag", "x")]
    first = await list_page(alice, [*params, ("limit", 2)])
    cursor = first.headers["x-next-cursor"]
    second = await list_page(alice, [*params, ("limit", 3), ("cursor", cursor)])
    cursor = second.headers["x-next-cursor"]
    third = await list_page(alice, [*params, ("limit", 50), ("cursor", cursor)])
    assert [len(page.json()) for page in (first, second, third)] == [2, 3, 2]
    assert ids(first.json()) + ids(second.json()) + ids(third.json()) == ids(created)
    assert "x-next-cursor" not in third.headers


async def test_the_same_filters_in_another_order_keep_a_cursor_valid(
    alice: httpx.AsyncClient,
) -> None:
    created = await create_many(alice, 4, priority="high", tags=["a", "b"])
    made_with: Params = [("priority", "high"), ("priority", "low"), ("tag", "a"), ("tag", "b")]
    used_with: Params = [("tag", "b"), ("priority", "low"), ("tag", "a"), ("priority", "high")]
    first = await list_page(alice, [*made_with, ("limit", 2), ("sort", "title")])
    cursor = first.headers["x-next-cursor"]
    second = await list_page(
        alice, [*used_with, ("limit", 2), ("sort", "title"), ("cursor", cursor)]
    )
    assert ids(first.json()) + ids(second.json()) == ids(created)


# --- tasks created and deleted between pages ----------------------------------------------------

CHURN_DUE_DATES = [PAST_1, None, FUTURE_1, PAST_2, None, FUTURE_2, PAST_1, FUTURE_1, None, PAST_2]
# What is created between pages: before, among and after the existing tasks in every order.
CHURN_INSERTS: list[dict[str, Any]] = [
    {"title": "A new first", "due_at": "2000-01-01T00:00:00Z"},
    {"title": "m new middle", "due_at": FUTURE_1},
    {"title": "Z new last", "due_at": "2999-01-01T00:00:00Z"},
    {"title": "n new undated"},
]


@pytest.mark.parametrize(
    "sort", ["-created_at", "created_at", "due_at", "-due_at", "title", "-title"]
)
async def test_tasks_created_or_deleted_between_pages_are_never_repeated_or_skipped(
    alice: httpx.AsyncClient, sort: str
) -> None:
    original = [
        await create_task(alice, title=f"{'mM'[n % 2]} task {n:02}", due_at=due_at)
        for n, due_at in enumerate(CHURN_DUE_DATES)
    ]
    params: Params = [("sort", sort), ("limit", 3)]
    walked: list[dict[str, Any]] = []
    deleted: set[str] = set()
    deleted_unseen: set[str] = set()
    response = await list_page(alice, params)
    for page in range(50):
        walked += response.json()
        cursor = response.headers.get("x-next-cursor")
        if cursor is None:
            break
        if page >= 3:  # enough churn: let the walk end
            response = await list_page(alice, with_cursor(params, cursor))
            continue
        # The task the cursor ends on goes, and so does one that is still to come.
        seen = set(ids(walked))
        to_come = [t for t in original if t["id"] not in seen and t["id"] not in deleted]
        for task in [walked[-1], *to_come[-1:]]:
            assert (await alice.delete(f"/api/tasks/{task['id']}")).status_code == 204
            deleted.add(task["id"])
            if task["id"] not in seen:
                deleted_unseen.add(task["id"])
        for fields in CHURN_INSERTS:
            await create_task(alice, **fields)
        response = await list_page(alice, with_cursor(params, cursor))
    else:
        pytest.fail("the walk did not end")

    walked_ids = ids(walked)
    assert len(walked_ids) == len(set(walked_ids)), "a task was listed twice"
    survivors = {t["id"] for t in original} - deleted
    assert survivors <= set(walked_ids), "a task that was there throughout was skipped"
    assert not deleted_unseen & set(walked_ids), "a deleted task was listed"
    assert walked_ids == expected_order(walked, sort), "the pages are not in order"


# --- property: every page walk is a plain Python filter and sort --------------------------------

ALPHABET = "aAbB%_\\ "
PRIORITIES = ["none", "low", "medium", "high"]
DUE_DATES = [None, PAST_1, PAST_2, FUTURE_1, FUTURE_2]
BOUNDS = [PAST_1, PAST_2, "2500-01-01T05:00:00+05:00", FUTURE_1, FUTURE_2]
FILTERS = ["completed", "priority", "tag", "q", "due_before", "due_after", "overdue"]

task_fields = st.fixed_dictionaries(
    {
        "title": st.text(ALPHABET, min_size=1, max_size=4).filter(str.strip),
        "description": st.none() | st.text(ALPHABET, max_size=4),
        "priority": st.sampled_from(PRIORITIES),
        "due_at": st.sampled_from(DUE_DATES),
        "tags": st.lists(st.sampled_from(["x", "Y", "z"]), max_size=3),
        "is_completed": st.booleans(),
    }
)
# Changes after creation, so that updated_at order differs from created_at order.
changes = st.lists(
    st.tuples(st.integers(0, 29), st.sampled_from(["complete", "reopen", "retitle"])),
    max_size=4,
)


@st.composite
def listings(draw: st.DrawFn) -> tuple[Params, dict[str, Any], str]:
    """Query parameters for a random listing, the same filters for expected_filter, the sort."""
    sort = draw(st.sampled_from([None, *SORTS]))
    params: Params = [("limit", draw(st.integers(1, 7)))]
    if sort is not None:
        params.append(("sort", sort))
    filters: dict[str, Any] = {}
    for name in sorted(draw(st.sets(st.sampled_from(FILTERS), max_size=3))):
        if name in {"completed", "overdue"}:
            filters[name] = draw(st.booleans())
            params.append((name, str(filters[name]).lower()))
        elif name == "priority":
            filters["priorities"] = draw(
                st.lists(st.sampled_from(PRIORITIES), min_size=1, max_size=4)
            )
            params += [("priority", p) for p in filters["priorities"]]
        elif name == "tag":
            filters["tags"] = draw(
                st.lists(st.sampled_from(["x", "X", "y", " Z "]), min_size=1, max_size=3)
            )
            params += [("tag", t) for t in filters["tags"]]
        elif name == "q":
            filters["q"] = draw(st.text(ALPHABET, min_size=1, max_size=2))
            params.append(("q", filters["q"]))
        else:
            bound = draw(st.sampled_from(BOUNDS))
            filters[name] = datetime.fromisoformat(bound)
            params.append((name, bound))
    return params, filters, sort or "-created_at"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    tasks=st.integers(0, 30).flatmap(lambda n: st.lists(task_fields, min_size=n, max_size=n)),
    later=changes,
    queries=st.lists(listings(), min_size=2, max_size=4),
)
async def test_walking_every_page_matches_a_plain_python_filter_and_sort(
    new_user_client: Callable[..., httpx.AsyncClient],
    tasks: list[dict[str, Any]],
    later: list[tuple[int, str]],
    queries: list[tuple[Params, dict[str, Any], str]],
) -> None:
    async with new_user_client() as client:  # a fresh user for every example
        created = [await create_task(client, **fields) for fields in tasks]
        for index, change in later:
            if index >= len(created):
                continue
            url = f"/api/tasks/{created[index]['id']}"
            if change == "retitle":
                response = await client.patch(url, json={"title": "b%_A"})
            else:
                response = await client.post(f"{url}/{change}")
            assert response.status_code == 200, response.text
            created[index] = response.json()
        now = datetime.now(UTC)
        by_id = {task["id"]: task for task in created}

        for params, filters, sort in queries:
            walked = await walk_pages(client, params)
            expected = expected_order(expected_filter(created, now=now, **filters), sort)
            assert ids(walked) == expected, params
            assert walked == [by_id[task_id] for task_id in expected]
