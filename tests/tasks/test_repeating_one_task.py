"""A repeating task is one task: completing it keeps the task (id, comments, reminders,
assignee, list, place) and moves it to its next occurrence; each completed occurrence is
recorded (`GET /api/tasks/{id}/completions`, the activity) and the last one can be undone."""

import asyncio
from typing import Any

import httpx
import pytest

from tests.lists.sharing import share, user_id
from tests.support import assert_error
from tests.tasks.feed_helpers import read_feed
from tests.tasks.helpers import create_task

MONDAY = "2026-03-02T09:00:00Z"
TUESDAY = "2026-03-03T09:00:00Z"
WEDNESDAY = "2026-03-04T09:00:00Z"


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def complete(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    task: dict[str, Any] = await ok(await client.post(f"/api/tasks/{task_id}/complete"))
    return task


async def completions(client: httpx.AsyncClient, task_id: str, **params: Any) -> httpx.Response:
    return await client.get(f"/api/tasks/{task_id}/completions", params=params)


async def undo(client: httpx.AsyncClient, task_id: str) -> httpx.Response:
    return await client.post(f"/api/tasks/{task_id}/completions/latest/undo")


async def test_completing_keeps_the_task_and_moves_it_to_its_next_occurrence(
    alice: httpx.AsyncClient,
) -> None:
    lst = await ok(await alice.post("/api/lists", json={"name": "Home"}), 201)
    task = await create_task(
        alice,
        title="Water the plants",
        list_id=lst["id"],
        due_at=MONDAY,
        start_at="2026-03-02T08:00:00Z",
        recurrence="FREQ=DAILY;COUNT=3",
        reminders=[{"before_due": "PT15M"}],
    )
    other = await create_task(alice, list_id=lst["id"])
    comment = f"/api/tasks/{task['id']}/comments"
    await ok(await alice.post(comment, json={"body": "Balcony too"}), 201)
    subtask = await create_task(alice, parent_id=task["id"], title="Fill the can")
    await complete(alice, subtask["id"])

    moved = await complete(alice, task["id"])

    assert moved["id"] == task["id"]
    assert moved["is_completed"] is False
    assert (moved["due_at"], moved["start_at"]) == (TUESDAY, "2026-03-03T08:00:00Z")
    assert moved["recurrence"] == "FREQ=DAILY;COUNT=2"
    assert moved["reminders"] == task["reminders"]  # the same id, moved with the due
    assert moved["comment_count"] == 1
    assert (moved["list_id"], moved["completed_at"]) == (lst["id"], None)
    everything = await ok(await alice.get("/api/tasks", params={"list_id": lst["id"]}))
    assert {t["id"] for t in everything} == {task["id"], other["id"], subtask["id"]}
    reopened = await ok(await alice.get(f"/api/tasks/{subtask['id']}"))
    assert reopened["is_completed"] is False
    [done] = await ok(await completions(alice, task["id"]))
    assert done["occurrence"] == MONDAY
    assert done["completed_by"] == await user_id(alice)
    assert done["completed_at"] is not None


async def test_the_last_occurrence_completes_the_task_for_good(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY;COUNT=2")

    await complete(alice, task["id"])
    last = await complete(alice, task["id"])

    assert last["is_completed"] is True
    assert last["due_at"] == TUESDAY
    listed = await ok(await completions(alice, task["id"]))
    assert [c["occurrence"] for c in listed] == [TUESDAY, MONDAY]  # newest first
    assert await complete(alice, task["id"]) == last  # nothing more


async def test_an_all_day_task_completes_by_dates(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, due_date="2026-03-02", recurrence="FREQ=WEEKLY")

    moved = await complete(alice, task["id"])

    assert moved["due_date"] == "2026-03-09"
    [done] = await ok(await completions(alice, task["id"]))
    assert done["occurrence"] == "2026-03-02"


async def test_undo_puts_the_last_occurrence_back(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY;COUNT=3")
    await complete(alice, task["id"])
    await complete(alice, task["id"])

    back = await ok(await undo(alice, task["id"]))

    assert (back["due_at"], back["recurrence"], back["is_completed"]) == (
        TUESDAY,
        "FREQ=DAILY;COUNT=2",
        False,
    )
    assert [c["occurrence"] for c in await ok(await completions(alice, task["id"]))] == [MONDAY]
    page = await ok(await alice.get(f"/api/tasks/{task['id']}/activity"))
    assert (page["items"][0]["action"], page["items"][0]["changes"]) == (
        "task.reopened",
        {"occurrence": [WEDNESDAY, TUESDAY]},
    )
    assert (await complete(alice, task["id"]))["due_at"] == WEDNESDAY


async def test_the_change_feed_says_which_occurrence_was_completed_and_undone(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    shared = await ok(await alice.post("/api/lists", json={"name": "Home"}), 201)
    await share(alice, bob, shared["id"], "editor")
    task = await create_task(
        alice, list_id=shared["id"], due_at=MONDAY, recurrence="FREQ=DAILY;COUNT=3"
    )
    plain = await create_task(alice, list_id=shared["id"], title="Once")
    start = await read_feed(bob, wait_for=[task["id"], plain["id"]])
    entries = {t["id"]: t for t in start["changes"]}
    assert entries[task["id"]]["last_completion"] is None
    assert "last_completion" not in entries[plain["id"]]  # as GET has it: it does not repeat

    await complete(alice, task["id"])
    done = await read_feed(bob, since=start["next"], wait_for=[task["id"]])
    [entry] = [t for t in done["changes"] if t["id"] == task["id"]]
    assert entry["due_at"] == TUESDAY
    completion = entry["last_completion"]
    assert (completion["occurrence"], completion["completed_by"]) == (MONDAY, await user_id(alice))
    assert completion == (await ok(await completions(alice, task["id"])))[0]

    await complete(bob, task["id"])
    await ok(await undo(bob, task["id"]))  # Tuesday's, back: Monday's is the last again
    undone = await read_feed(bob, since=done["next"], wait_for=[task["id"]])
    [entry] = [t for t in undone["changes"] if t["id"] == task["id"]]
    assert (entry["due_at"], entry["last_completion"]) == (TUESDAY, completion)
    await ok(await undo(alice, task["id"]))
    last = await read_feed(bob, since=undone["next"], wait_for=[task["id"]])
    [entry] = [t for t in last["changes"] if t["id"] == task["id"]]
    assert (entry["due_at"], entry["last_completion"]) == (MONDAY, None)


async def test_undo_of_the_last_occurrence_reopens_the_task(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY;COUNT=2")
    await complete(alice, task["id"])
    assert (await complete(alice, task["id"]))["is_completed"] is True

    back = await ok(await undo(alice, task["id"]))

    assert (back["is_completed"], back["completed_at"], back["due_at"]) == (False, None, TUESDAY)
    assert [c["occurrence"] for c in await ok(await completions(alice, task["id"]))] == [MONDAY]


async def test_undo_without_a_completion_is_409(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")

    assert_error(await undo(alice, task["id"]), 409, "CONFLICT")


async def test_completions_are_paged_newest_first(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")
    for _ in range(3):
        await complete(alice, task["id"])

    first = await completions(alice, task["id"], limit=2)
    second = await completions(alice, task["id"], limit=2, cursor=first.headers["x-next-cursor"])

    assert [c["occurrence"] for c in first.json()] == [WEDNESDAY, TUESDAY]
    assert 'rel="next"' in first.headers["link"]
    assert [c["occurrence"] for c in second.json()] == [MONDAY]
    assert "x-next-cursor" not in second.headers
    assert_error(await completions(alice, task["id"], cursor="nope"), 400, "VALIDATION_ERROR")


async def test_another_users_task_has_no_completions_to_read_or_undo(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")
    await complete(alice, task["id"])

    assert_error(await completions(bob, task["id"]), 404, "NOT_FOUND")
    assert_error(await undo(bob, task["id"]), 404, "NOT_FOUND")


async def test_a_member_completing_is_named_in_the_activity_never_as_creating(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    lst = await ok(await alice.post("/api/lists", json={"name": "Chores"}), 201)
    await share(alice, bob, lst["id"])
    task = await create_task(alice, list_id=lst["id"], due_at=MONDAY, recurrence="FREQ=DAILY")

    await complete(bob, task["id"])

    page = await ok(await alice.get(f"/api/tasks/{task['id']}/activity"))
    actions = [(item["action"], item["actor_id"]) for item in page["items"]]
    bob_id, alice_id = await user_id(bob), await user_id(alice)
    assert actions == [("task.completed", bob_id), ("task.created", alice_id)]
    assert page["items"][0]["changes"] == {"occurrence": [MONDAY, TUESDAY]}
    [done] = await ok(await completions(alice, task["id"]))
    assert done["completed_by"] == bob_id


@pytest.mark.parametrize("way", ["patch", "bulk", "toggle"])
async def test_every_way_of_completing_moves_the_same_task(
    alice: httpx.AsyncClient, way: str
) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")
    if way == "patch":
        await ok(await alice.patch(f"/api/tasks/{task['id']}", json={"is_completed": True}))
    elif way == "bulk":
        operations = [{"op": "complete", "id": task["id"]}]
        await ok(await alice.post("/api/tasks/bulk", json={"operations": operations}))
    else:
        await ok(await alice.patch(f"/api/{await user_id(alice)}/tasks/{task['id']}/complete"))

    [only] = await ok(await alice.get("/api/tasks"))
    assert (only["id"], only["due_at"], only["is_completed"]) == (task["id"], TUESDAY, False)
    assert len(await ok(await completions(alice, task["id"]))) == 1


async def test_concurrent_completions_each_complete_one_occurrence(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")

    await asyncio.gather(*(complete(alice, task["id"]) for _ in range(4)))

    listed = await ok(await completions(alice, task["id"]))
    assert [c["occurrence"] for c in listed] == [
        "2026-03-05T09:00:00Z",
        WEDNESDAY,
        TUESDAY,
        MONDAY,
    ]
    assert (await ok(await alice.get(f"/api/tasks/{task['id']}")))["due_at"] == (
        "2026-03-06T09:00:00Z"
    )


async def test_a_rule_written_with_the_completion_is_completed_by_it(
    alice: httpx.AsyncClient,
) -> None:
    """A client sending the whole task (a calendar app) with a new rule and the completion:
    the rule is checked as written, then the task moves on by it."""
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")

    response = await alice.patch(
        f"/api/tasks/{task['id']}",
        json={"recurrence": "FREQ=DAILY;COUNT=2", "is_completed": True},
    )

    moved = await ok(response)
    assert (moved["due_at"], moved["recurrence"]) == (TUESDAY, "FREQ=DAILY;COUNT=1")


async def test_a_viewer_cannot_undo_and_a_stale_undo_is_412(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    lst = await ok(await alice.post("/api/lists", json={"name": "Watched"}), 201)
    await share(alice, bob, lst["id"], "viewer")
    task = await create_task(alice, list_id=lst["id"], due_at=MONDAY, recurrence="FREQ=DAILY")
    await complete(alice, task["id"])

    assert_error(await undo(bob, task["id"]), 403, "FORBIDDEN")
    assert len(await ok(await completions(bob, task["id"]))) == 1  # a viewer reads them
    stale = await alice.post(
        f"/api/tasks/{task['id']}/completions/latest/undo", headers={"If-Match": '"1"'}
    )
    assert_error(stale, 412, "PRECONDITION_FAILED")
    assert len(await ok(await completions(alice, task["id"]))) == 1
