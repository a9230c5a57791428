"""POST /api/tasks/bulk: up to 100 operations in one transaction, all or nothing.

Each operation gets a result (op, id, status 201/200/204, task or null); when one fails, nothing
is applied and the error body's details name the failing operation's index.
"""

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.support import assert_error
from tests.tasks.feed_helpers import read_feed
from tests.tasks.helpers import assert_validation_error, create_task
from tests.tasks.listing_helpers import all_tasks, ids

RESULT_FIELDS = {"op", "id", "status", "task"}


def create(title: str, **data: Any) -> dict[str, Any]:
    return {"op": "create", "data": {"title": title, **data}}


def change(task_id: str, **data: Any) -> dict[str, Any]:
    return {"op": "update", "id": task_id, "data": data}


def act(op: str, task_id: str) -> dict[str, Any]:
    return {"op": op, "id": task_id}


async def bulk(client: httpx.AsyncClient, operations: list[dict[str, Any]]) -> httpx.Response:
    return await client.post("/api/tasks/bulk", json={"operations": operations})


async def assert_nothing_changed(
    client: httpx.AsyncClient, before: list[dict[str, Any]], token: str
) -> None:
    """The task list is as it was, and the change feed has nothing since `token`."""
    assert await all_tasks(client) == before
    feed = await read_feed(client, since=token)
    assert feed["changes"] == []
    assert feed["deleted"] == []


# --- Results --------------------------------------------------------------------------------------


async def test_every_kind_of_operation_is_applied_and_reported_in_order(
    alice: httpx.AsyncClient,
) -> None:
    to_change = await create_task(alice, title="Change me")
    to_complete = await create_task(alice, title="Complete me")
    to_reopen = await create_task(alice, title="Reopen me", is_completed=True)
    to_delete = await create_task(alice, title="Delete me")

    response = await bulk(
        alice,
        [
            create("New", priority="high", tags=["bulk"]),
            change(to_change["id"], title="Changed", description="By bulk"),
            act("complete", to_complete["id"]),
            act("reopen", to_reopen["id"]),
            act("delete", to_delete["id"]),
        ],
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"results"}
    results = body["results"]
    assert all(set(result) == RESULT_FIELDS for result in results)
    assert [(r["op"], r["status"]) for r in results] == [
        ("create", 201),
        ("update", 200),
        ("complete", 200),
        ("reopen", 200),
        ("delete", 204),
    ]
    created = results[0]["task"]
    assert results[0]["id"] == created["id"]
    assert (created["title"], created["priority"], created["tags"]) == ("New", "high", ["bulk"])
    assert [r["id"] for r in results[1:]] == ids([to_change, to_complete, to_reopen, to_delete])
    assert (results[1]["task"]["title"], results[1]["task"]["description"]) == (
        "Changed",
        "By bulk",
    )
    assert results[2]["task"]["is_completed"] is True
    assert results[3]["task"]["is_completed"] is False
    assert results[4]["task"] is None

    for result in results[:4]:
        fetched = await alice.get(f"/api/tasks/{result['id']}")
        assert fetched.json() == result["task"]
    assert (await alice.get(f"/api/tasks/{to_delete['id']}")).status_code == 404


async def test_a_hundred_operations_are_applied(alice: httpx.AsyncClient) -> None:
    response = await bulk(alice, [create(f"Task {n}") for n in range(100)])

    assert response.status_code == 200, response.text
    assert len(response.json()["results"]) == 100
    assert len(await all_tasks(alice)) == 100


async def test_a_hundred_and_one_operations_are_400_and_apply_nothing(
    alice: httpx.AsyncClient,
) -> None:
    response = await bulk(alice, [create(f"Task {n}") for n in range(101)])

    details = assert_validation_error(response, "operations")
    assert "100" in details[0]["message"]
    assert await all_tasks(alice) == []


async def test_no_operations_is_400(alice: httpx.AsyncClient) -> None:
    assert_validation_error(await bulk(alice, []), "operations")


async def test_completing_and_reopening_twice_in_one_bulk_is_idempotent(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice)

    response = await bulk(
        alice,
        [act("complete", task["id"]), act("complete", task["id"]), act("reopen", task["id"])],
    )

    assert response.status_code == 200, response.text
    first, second, reopened = response.json()["results"]
    assert first["task"] == second["task"]
    assert first["task"]["is_completed"] is True
    assert reopened["task"]["is_completed"] is False


async def test_bulk_changes_come_in_the_change_feed_in_operation_order(
    alice: httpx.AsyncClient,
) -> None:
    one, two = await create_task(alice), await create_task(alice)
    start = await read_feed(alice, wait_for=[one["id"], two["id"]])

    response = await bulk(
        alice, [change(two["id"], title="Two"), act("delete", one["id"]), create("Three")]
    )
    three = response.json()["results"][2]["id"]

    feed = await read_feed(alice, since=start["next"], wait_for=[two["id"], one["id"], three])
    assert ids(feed["changes"]) == [two["id"], three]
    assert feed["deleted"] == [one["id"]]


# --- All or nothing -------------------------------------------------------------------------------


FAILURES = {
    "update of an unknown id": (lambda: change(str(uuid.uuid4()), title="x"), 404, "NOT_FOUND"),
    "delete of an unknown id": (lambda: act("delete", str(uuid.uuid4())), 404, "NOT_FOUND"),
    "complete of an unknown id": (lambda: act("complete", str(uuid.uuid4())), 404, "NOT_FOUND"),
    "recurrence without due date": (
        lambda: create("Recurring", recurrence="FREQ=DAILY"),
        400,
        "VALIDATION_ERROR",
    ),
}


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_a_failing_fiftieth_operation_changes_nothing_and_is_named(
    alice: httpx.AsyncClient, failure: str
) -> None:
    make_failing, status, code = FAILURES[failure]
    tasks = [
        await create_task(alice, title=f"Task {n}", is_completed=n % 2 == 1) for n in range(12)
    ]
    before = await all_tasks(alice)
    token = (await read_feed(alice, wait_for=ids(tasks)))["next"]
    # 49 operations of every kind touching the tasks, the failing one, then more.
    operations: list[dict[str, Any]] = []
    for n in range(49):
        task = tasks[n % 10]
        kind = n % 5
        if kind == 0:
            operations.append(create(f"Bulk {n}"))
        elif kind == 1:
            operations.append(change(task["id"], title=f"Changed {n}", priority="low"))
        elif kind == 2:
            operations.append(act("complete", task["id"]))
        elif kind == 3:
            operations.append(act("reopen", task["id"]))
        else:
            operations.append(
                create(f"Due {n}", due_at="2026-05-01T10:00:00Z", recurrence="FREQ=DAILY")
            )
    operations += [act("delete", tasks[10]["id"]), act("delete", tasks[11]["id"])]
    operations.insert(49, make_failing())

    response = await bulk(alice, operations)

    body = assert_error(response, status, code)
    assert body["details"]
    assert all(detail["field"].startswith("operations.49") for detail in body["details"])
    assert body["details"][0]["field"].split(".")[:2] == ["operations", "49"]
    assert "49" in body["error"]
    await assert_nothing_changed(alice, before, token)


async def test_a_failure_after_a_delete_restores_the_deleted_task(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice)
    before = await all_tasks(alice)
    token = (await read_feed(alice, wait_for=[task["id"]]))["next"]

    response = await bulk(alice, [act("delete", task["id"]), change(task["id"], title="Gone")])

    body = assert_error(response, 404, "NOT_FOUND")
    assert [detail["field"] for detail in body["details"]] == ["operations.1"]
    await assert_nothing_changed(alice, before, token)


async def test_another_users_task_in_a_bulk_is_404_and_changes_nothing(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    mine = await create_task(alice)
    bobs = await create_task(bob, title="Bob's")
    before = await all_tasks(alice)

    response = await bulk(alice, [act("complete", mine["id"]), act("delete", bobs["id"])])

    body = assert_error(response, 404, "NOT_FOUND")
    assert [detail["field"] for detail in body["details"]] == ["operations.1"]
    assert await all_tasks(alice) == before
    assert (await bob.get(f"/api/tasks/{bobs['id']}")).json() == bobs


async def test_a_rule_broken_by_an_update_names_the_operation_and_its_field(
    alice: httpx.AsyncClient,
) -> None:
    recurring = await create_task(alice, due_at="2026-05-01T10:00:00Z", recurrence="FREQ=WEEKLY")
    before = await all_tasks(alice)

    response = await bulk(
        alice, [create("Fine"), change(recurring["id"], due_at=None), create("Also fine")]
    )

    details = assert_validation_error(response, "operations.1.recurrence")
    assert "due_at" in details[0]["message"]
    assert await all_tasks(alice) == before


INVALID_OPERATIONS = {
    "blank title": create("   "),
    "unknown op": {"op": "archive", "id": str(uuid.uuid4())},
    "update without id": {"op": "update", "data": {"title": "x"}},
    "malformed id": act("complete", "not-a-uuid"),
    "unknown field": change(str(uuid.uuid4()), colour="red"),
    "update with no field": change(str(uuid.uuid4())),
    "bad recurrence": create("x", due_at="2026-05-01T10:00:00Z", recurrence="FREQ=HOURLY"),
}


@pytest.mark.parametrize("invalid", list(INVALID_OPERATIONS))
async def test_an_invalid_fourth_operation_is_400_naming_it(
    alice: httpx.AsyncClient, invalid: str
) -> None:
    operations = [create("One"), create("Two"), create("Three"), INVALID_OPERATIONS[invalid]]

    response = await bulk(alice, operations)

    body = assert_error(response, 400, "VALIDATION_ERROR")
    fields = [detail["field"] for detail in body["details"]]
    assert fields
    assert all(field == "operations.3" or field.startswith("operations.3.") for field in fields)
    assert await all_tasks(alice) == []


@pytest.mark.parametrize(
    "body",
    [{}, {"operations": "create"}, {"operations": [create("x")], "extra": True}, {"ops": []}],
    ids=["empty", "not-a-list", "unknown-field", "misnamed"],
)
async def test_a_malformed_bulk_body_is_400(alice: httpx.AsyncClient, body: dict) -> None:
    response = await alice.post("/api/tasks/bulk", json=body)

    assert_error(response, 400, "VALIDATION_ERROR")


async def test_two_bulks_over_the_same_tasks_in_opposite_orders_both_apply(
    alice: httpx.AsyncClient,
) -> None:
    # Each operation locks its task until the bulk commits: two bulks taking the same tasks in
    # opposite orders would each wait for the other (on PostgreSQL a deadlock, one 503).
    tasks = [await create_task(alice, title=f"t{n}") for n in range(20)]
    forward = [change(task["id"], priority="high") for task in tasks]
    for _ in range(3):
        one, two = await asyncio.gather(bulk(alice, forward), bulk(alice, forward[::-1]))
        assert one.status_code == 200, one.text
        assert two.status_code == 200, two.text
