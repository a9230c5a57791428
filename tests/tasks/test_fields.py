"""The task fields beyond the seed (priority, due_at, tags, completed_at), PATCH, and the
complete and reopen actions, through HTTP on both databases."""

import json
from typing import Any

import httpx
import pytest

from tests.support import assert_error
from tests.tasks.helpers import (
    assert_not_found,
    assert_validation_error,
    create_task,
    random_task_url,
    timestamp,
)
from tests.tasks.listing_helpers import assert_validation_error_on

UPDATE_METHODS = ["PUT", "PATCH"]
JSON_CONTENT = {"content-type": "application/json"}


async def update(
    client: httpx.AsyncClient, method: str, task: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    response = await client.request(method, f"/api/tasks/{task['id']}", json=fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def fetch(client: httpx.AsyncClient, task: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(f"/api/tasks/{task['id']}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- priority -----------------------------------------------------------------------------------


async def test_priority_defaults_to_none(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    assert task["priority"] == "none"


@pytest.mark.parametrize("priority", ["none", "low", "medium", "high"])
async def test_each_priority_is_accepted_and_kept(alice: httpx.AsyncClient, priority: str) -> None:
    task = await create_task(alice, priority=priority)
    assert task["priority"] == priority
    assert (await fetch(alice, task))["priority"] == priority


@pytest.mark.parametrize("method", UPDATE_METHODS)
async def test_priority_can_be_changed(alice: httpx.AsyncClient, method: str) -> None:
    task = await create_task(alice, priority="low")
    changed = await update(alice, method, task, priority="high")
    assert changed["priority"] == "high"
    assert (await fetch(alice, task))["priority"] == "high"


@pytest.mark.parametrize("priority", ["urgent", "HIGH", "", 3, ["high"]])
async def test_unknown_priority_is_refused_on_create_and_named(
    alice: httpx.AsyncClient, priority: Any
) -> None:
    response = await alice.post("/api/tasks", json={"title": "x", "priority": priority})
    assert_validation_error(response, "priority")
    assert (await alice.get("/api/tasks")).json() == []


@pytest.mark.parametrize("method", UPDATE_METHODS)
@pytest.mark.parametrize("priority", ["urgent", None])
async def test_unknown_or_null_priority_is_refused_on_update(
    alice: httpx.AsyncClient, method: str, priority: Any
) -> None:
    task = await create_task(alice, priority="medium")
    response = await alice.request(method, f"/api/tasks/{task['id']}", json={"priority": priority})
    assert_validation_error(response, "priority")
    assert await fetch(alice, task) == task


# --- due_at -------------------------------------------------------------------------------------


async def test_due_at_defaults_to_null(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    assert task["due_at"] is None


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2030-03-01T10:30:00+02:00", "2030-03-01T08:30:00Z"),
        ("2030-03-01T10:30:00-05:30", "2030-03-01T16:00:00Z"),
        ("2030-03-01T10:30:00Z", "2030-03-01T10:30:00Z"),
        ("2030-03-01T10:30:00+00:00", "2030-03-01T10:30:00Z"),
        ("2030-03-01T00:30:00+01:00", "2030-02-28T23:30:00Z"),
        ("2030-03-01T10:30:00.250+00:00", "2030-03-01T10:30:00.250000Z"),
    ],
)
async def test_due_at_with_an_offset_is_kept_and_returned_in_utc(
    alice: httpx.AsyncClient, given: str, stored: str
) -> None:
    task = await create_task(alice, due_at=given)
    assert task["due_at"] == stored
    assert (await fetch(alice, task))["due_at"] == stored


@pytest.mark.parametrize(
    "due_at",
    [
        pytest.param("2030-03-01T10:30:00", id="naive-date-time"),
        pytest.param("2030-03-01", id="date-only"),
        pytest.param("tomorrow", id="not-a-date"),
        pytest.param("2030-13-01T10:30:00Z", id="month-13"),
    ],
)
async def test_due_at_without_offset_or_not_a_date_time_is_refused(
    alice: httpx.AsyncClient, due_at: Any
) -> None:
    response = await alice.post("/api/tasks", json={"title": "x", "due_at": due_at})
    assert_validation_error(response, "due_at")
    assert (await alice.get("/api/tasks")).json() == []


@pytest.mark.parametrize(
    "due_at",
    [pytest.param(1893456000, id="number"), pytest.param("1893456000", id="numeric-string")],
)
async def test_due_at_as_a_unix_timestamp_is_refused(alice: httpx.AsyncClient, due_at: Any) -> None:
    response = await alice.post("/api/tasks", json={"title": "x", "due_at": due_at})
    assert_validation_error(response, "due_at")


@pytest.mark.parametrize("method", UPDATE_METHODS)
async def test_naive_due_at_is_refused_on_update(alice: httpx.AsyncClient, method: str) -> None:
    task = await create_task(alice, due_at="2030-01-01T00:00:00Z")
    response = await alice.request(
        method, f"/api/tasks/{task['id']}", json={"due_at": "2030-06-01T12:00:00"}
    )
    assert_validation_error(response, "due_at")
    assert await fetch(alice, task) == task


@pytest.mark.parametrize("method", UPDATE_METHODS)
async def test_null_due_at_on_update_clears_it(alice: httpx.AsyncClient, method: str) -> None:
    task = await create_task(alice, due_at="2030-01-01T00:00:00Z")
    cleared = await update(alice, method, task, due_at=None)
    assert cleared["due_at"] is None
    assert (await fetch(alice, task))["due_at"] is None


@pytest.mark.parametrize("method", UPDATE_METHODS)
async def test_due_at_left_out_of_an_update_stays(alice: httpx.AsyncClient, method: str) -> None:
    task = await create_task(alice, due_at="2030-01-01T00:00:00Z")
    changed = await update(alice, method, task, title="Renamed")
    assert changed["due_at"] == "2030-01-01T00:00:00Z"


@pytest.mark.parametrize("method", UPDATE_METHODS)
async def test_due_at_can_be_moved_and_is_kept_in_utc(
    alice: httpx.AsyncClient, method: str
) -> None:
    task = await create_task(alice)
    changed = await update(alice, method, task, due_at="2031-07-04T09:00:00-07:00")
    assert changed["due_at"] == "2031-07-04T16:00:00Z"


# --- tags ---------------------------------------------------------------------------------------


async def test_tags_default_to_an_empty_list(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    assert task["tags"] == []


async def test_tags_are_trimmed_and_lower_cased(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, tags=["  Home ", "WORK", "Ünïcode"])
    assert task["tags"] == ["home", "work", "ünïcode"]
    assert (await fetch(alice, task))["tags"] == ["home", "work", "ünïcode"]


async def test_duplicate_tags_after_normalising_are_dropped_keeping_first_order(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, tags=["b", "A", " a", "B ", "c", "a"])
    assert task["tags"] == ["b", "a", "c"]


async def test_twenty_tags_are_accepted(alice: httpx.AsyncClient) -> None:
    tags = [f"tag{n}" for n in range(20)]
    task = await create_task(alice, tags=tags)
    assert task["tags"] == tags


async def test_twenty_one_tags_are_refused(alice: httpx.AsyncClient) -> None:
    response = await alice.post(
        "/api/tasks", json={"title": "x", "tags": [f"tag{n}" for n in range(21)]}
    )
    assert_validation_error(response, "tags")
    assert (await alice.get("/api/tasks")).json() == []


async def test_the_tag_limit_counts_tags_after_removing_duplicates(
    alice: httpx.AsyncClient,
) -> None:
    tags = [f"tag{n}" for n in range(20)] + ["TAG0"]
    task = await create_task(alice, tags=tags)
    assert len(task["tags"]) == 20


@pytest.mark.parametrize(
    "tag",
    [
        pytest.param("x" * 50, id="50-characters"),
        pytest.param("  " + "x" * 50 + "  ", id="50-after-trimming"),
        pytest.param("é" * 50, id="50-accented"),
        pytest.param("x", id="one-character"),
        pytest.param("two words", id="inner-space"),
    ],
)
async def test_tag_of_1_to_50_characters_is_accepted(alice: httpx.AsyncClient, tag: str) -> None:
    task = await create_task(alice, tags=[tag])
    assert task["tags"] == [tag.strip().lower()]


@pytest.mark.parametrize(
    "tag",
    [
        pytest.param("x" * 51, id="51-characters"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("a\x00b", id="nul"),
        pytest.param("\ud800", id="lone-surrogate"),
        pytest.param(7, id="not-a-string"),
    ],
)
async def test_bad_tag_is_refused_and_named(alice: httpx.AsyncClient, tag: Any) -> None:
    # Sent with ASCII escapes, so that a lone surrogate can travel as JSON at all.
    raw = json.dumps({"title": "x", "tags": ["ok", tag]}).encode()
    response = await alice.post("/api/tasks", content=raw, headers=JSON_CONTENT)
    assert_validation_error_on(response, "tags")
    assert (await alice.get("/api/tasks")).json() == []


@pytest.mark.parametrize("tags", ["home", {"home": True}])
async def test_tags_that_are_not_a_list_are_refused(alice: httpx.AsyncClient, tags: Any) -> None:
    response = await alice.post("/api/tasks", json={"title": "x", "tags": tags})
    assert_validation_error_on(response, "tags")


@pytest.mark.parametrize("method", UPDATE_METHODS)
async def test_tags_on_update_replace_the_list_and_are_normalised(
    alice: httpx.AsyncClient, method: str
) -> None:
    task = await create_task(alice, tags=["old", "keep"])
    changed = await update(alice, method, task, tags=["Keep", " NEW ", "keep"])
    assert changed["tags"] == ["keep", "new"]
    assert (await fetch(alice, task))["tags"] == ["keep", "new"]


@pytest.mark.parametrize("method", UPDATE_METHODS)
async def test_empty_tags_on_update_clear_them(alice: httpx.AsyncClient, method: str) -> None:
    task = await create_task(alice, tags=["a", "b"])
    assert (await update(alice, method, task, tags=[]))["tags"] == []


@pytest.mark.parametrize("method", UPDATE_METHODS)
async def test_tags_left_out_of_an_update_stay(alice: httpx.AsyncClient, method: str) -> None:
    task = await create_task(alice, tags=["a", "b"])
    assert (await update(alice, method, task, priority="low"))["tags"] == ["a", "b"]


@pytest.mark.parametrize("method", UPDATE_METHODS)
@pytest.mark.parametrize(
    "tags",
    [
        pytest.param(None, id="null"),
        pytest.param([f"t{n}" for n in range(21)], id="21-tags"),
        pytest.param(["x" * 51], id="51-characters"),
        pytest.param([" "], id="blank"),
        pytest.param(["\x00"], id="nul"),
    ],
)
async def test_bad_tags_on_update_are_refused_and_change_nothing(
    alice: httpx.AsyncClient, method: str, tags: Any
) -> None:
    task = await create_task(alice, tags=["a"])
    response = await alice.request(method, f"/api/tasks/{task['id']}", json={"tags": tags})
    assert_validation_error_on(response, "tags")
    assert await fetch(alice, task) == task


# --- completed_at -------------------------------------------------------------------------------


async def test_open_task_has_no_completed_at(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    assert task["completed_at"] is None


async def test_task_created_completed_gets_completed_at(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, is_completed=True)
    assert task["completed_at"] is not None
    assert timestamp(task["completed_at"]) >= timestamp(task["created_at"])
    assert (await fetch(alice, task))["completed_at"] == task["completed_at"]


@pytest.mark.parametrize("method", UPDATE_METHODS)
async def test_completing_by_update_sets_completed_at_to_the_time_of_the_change(
    alice: httpx.AsyncClient, method: str
) -> None:
    task = await create_task(alice)
    done = await update(alice, method, task, is_completed=True)
    assert done["is_completed"] is True
    assert done["completed_at"] is not None
    assert timestamp(done["completed_at"]) == timestamp(done["updated_at"])
    assert (await fetch(alice, task)) == done


async def test_complete_action_sets_completed_at_to_the_time_of_the_change(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice)
    response = await alice.post(f"/api/tasks/{task['id']}/complete")
    assert response.status_code == 200
    done = response.json()
    assert done["is_completed"] is True
    assert timestamp(done["completed_at"]) == timestamp(done["updated_at"])
    assert timestamp(done["updated_at"]) > timestamp(task["updated_at"])


@pytest.mark.parametrize("method", UPDATE_METHODS)
async def test_reopening_by_update_clears_completed_at(
    alice: httpx.AsyncClient, method: str
) -> None:
    task = await create_task(alice, is_completed=True)
    reopened = await update(alice, method, task, is_completed=False)
    assert reopened["is_completed"] is False
    assert reopened["completed_at"] is None
    assert (await fetch(alice, task))["completed_at"] is None


async def test_reopen_action_clears_completed_at(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, is_completed=True)
    response = await alice.post(f"/api/tasks/{task['id']}/reopen")
    assert response.status_code == 200
    assert response.json()["is_completed"] is False
    assert response.json()["completed_at"] is None


@pytest.mark.parametrize("method", UPDATE_METHODS)
async def test_completing_a_completed_task_by_update_keeps_the_first_completed_at(
    alice: httpx.AsyncClient, method: str
) -> None:
    task = await create_task(alice)
    first = await update(alice, method, task, is_completed=True)
    again = await update(alice, method, task, is_completed=True, title="Still done")
    assert again["completed_at"] == first["completed_at"]
    assert again["title"] == "Still done"


async def test_complete_action_on_a_task_completed_by_update_keeps_completed_at(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, is_completed=True)
    done = (await alice.post(f"/api/tasks/{task['id']}/complete")).json()
    assert done == task


@pytest.mark.parametrize("method", UPDATE_METHODS)
async def test_other_changes_to_a_completed_task_keep_completed_at(
    alice: httpx.AsyncClient, method: str
) -> None:
    task = await create_task(alice, is_completed=True)
    changed = await update(alice, method, task, priority="high", tags=["x"])
    assert changed["completed_at"] == task["completed_at"]
    assert changed["is_completed"] is True


async def test_completing_after_reopening_sets_a_new_completed_at(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, is_completed=True)
    await alice.post(f"/api/tasks/{task['id']}/reopen")
    again = (await alice.post(f"/api/tasks/{task['id']}/complete")).json()
    assert again["completed_at"] is not None
    assert timestamp(again["completed_at"]) > timestamp(task["completed_at"])


@pytest.mark.parametrize("method", ["POST", *UPDATE_METHODS])
async def test_completed_at_cannot_be_set_by_the_client(
    alice: httpx.AsyncClient, method: str
) -> None:
    body = {"title": "x", "completed_at": "2030-01-01T00:00:00Z"}
    if method == "POST":
        response = await alice.post("/api/tasks", json=body)
    else:
        task = await create_task(alice)
        response = await alice.request(method, f"/api/tasks/{task['id']}", json=body)
    assert_validation_error(response, "completed_at")


# --- PATCH is PUT -------------------------------------------------------------------------------


async def test_patch_changes_only_the_given_fields(alice: httpx.AsyncClient) -> None:
    task = await create_task(
        alice, title="Keep", description="Keep too", priority="low", tags=["a"]
    )
    changed = await update(alice, "PATCH", task, due_at="2030-01-01T00:00:00Z")
    assert changed == {
        **task,
        "due_at": "2030-01-01T00:00:00Z",
        "updated_at": changed["updated_at"],
    }
    assert timestamp(changed["updated_at"]) > timestamp(task["updated_at"])


async def test_patch_and_put_give_the_same_result(alice: httpx.AsyncClient) -> None:
    change = {
        "title": "  New title ",
        "description": None,
        "is_completed": True,
        "priority": "high",
        "due_at": "2030-05-05T05:05:05+05:00",
        "tags": ["X", "y", "x"],
    }
    by_put = await update(alice, "PUT", await create_task(alice, description="d"), **change)
    by_patch = await update(alice, "PATCH", await create_task(alice, description="d"), **change)
    unstable = {"id", "position", "created_at", "updated_at", "completed_at"}
    assert {k: v for k, v in by_put.items() if k not in unstable} == {
        k: v for k, v in by_patch.items() if k not in unstable
    }
    assert by_patch["title"] == "New title"
    assert by_patch["due_at"] == "2030-05-05T00:05:05Z"
    assert by_patch["tags"] == ["x", "y"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"title": None}, "title", id="null-title"),
        pytest.param({"title": "   "}, "title", id="blank-title"),
        pytest.param({"is_completed": None}, "is_completed", id="null-is-completed"),
        pytest.param({"is_completed": "yes"}, "is_completed", id="string-is-completed"),
        pytest.param({"titel": "typo"}, "titel", id="unknown-field"),
    ],
)
async def test_patch_applies_the_put_rules(
    alice: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    task = await create_task(alice)
    response = await alice.patch(f"/api/tasks/{task['id']}", json=body)
    assert_validation_error(response, field)
    assert await fetch(alice, task) == task


async def test_patch_with_an_empty_body_is_refused(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    response = await alice.patch(f"/api/tasks/{task['id']}", json={})
    assert_error(response, 400, "VALIDATION_ERROR")
    assert await fetch(alice, task) == task


async def test_patch_with_a_non_json_body_is_an_invalid_request(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    response = await alice.patch(
        f"/api/tasks/{task['id']}",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert_error(response, 400, "INVALID_REQUEST")


async def test_patch_of_another_users_task_is_404_and_changes_nothing(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    task = await create_task(alice)
    theirs = await bob.patch(f"/api/tasks/{task['id']}", json={"title": "Mine"})
    missing = await bob.patch(random_task_url(), json={"title": "Mine"})
    assert_not_found(theirs)
    assert theirs.json() == missing.json()
    assert await fetch(alice, task) == task


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123"])
async def test_patch_of_a_malformed_id_is_404(alice: httpx.AsyncClient, bad_id: str) -> None:
    assert_not_found(await alice.patch(f"/api/tasks/{bad_id}", json={"title": "x"}))


# --- complete and reopen ------------------------------------------------------------------------


async def test_complete_is_idempotent(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    first = await alice.post(f"/api/tasks/{task['id']}/complete")
    second = await alice.post(f"/api/tasks/{task['id']}/complete")
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert first.json()["is_completed"] is True
    assert (await fetch(alice, task)) == first.json()


async def test_reopen_is_idempotent(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, is_completed=True)
    first = await alice.post(f"/api/tasks/{task['id']}/reopen")
    second = await alice.post(f"/api/tasks/{task['id']}/reopen")
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert first.json()["is_completed"] is False
    assert timestamp(first.json()["updated_at"]) > timestamp(task["updated_at"])


async def test_reopen_of_an_open_task_changes_nothing(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, priority="high", tags=["a"])
    response = await alice.post(f"/api/tasks/{task['id']}/reopen")
    assert response.status_code == 200
    assert response.json() == task


async def test_complete_and_reopen_keep_the_other_fields(alice: httpx.AsyncClient) -> None:
    task = await create_task(
        alice, title="T", description="D", priority="medium", due_at="2030-01-01T00:00:00Z"
    )
    done = (await alice.post(f"/api/tasks/{task['id']}/complete")).json()
    reopened = (await alice.post(f"/api/tasks/{task['id']}/reopen")).json()
    for changed in (done, reopened):
        for name in ("id", "user_id", "title", "description", "priority", "due_at", "tags"):
            assert changed[name] == task[name]
        assert changed["created_at"] == task["created_at"]


@pytest.mark.parametrize("action", ["complete", "reopen"])
async def test_action_on_another_users_task_is_404_and_changes_nothing(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, action: str
) -> None:
    task = await create_task(alice, is_completed=action == "reopen")
    theirs = await bob.post(f"/api/tasks/{task['id']}/{action}")
    missing = await bob.post(f"{random_task_url()}/{action}")
    assert_not_found(theirs)
    assert theirs.json() == missing.json()
    assert await fetch(alice, task) == task


@pytest.mark.parametrize("action", ["complete", "reopen"])
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"])
async def test_action_on_a_malformed_id_is_404(
    alice: httpx.AsyncClient, action: str, bad_id: str
) -> None:
    assert_not_found(await alice.post(f"/api/tasks/{bad_id}/{action}"))


@pytest.mark.parametrize("action", ["complete", "reopen"])
async def test_action_needs_a_bearer_token(anonymous: httpx.AsyncClient, action: str) -> None:
    response = await anonymous.post(f"{random_task_url()}/{action}")
    assert_error(response, 401, "UNAUTHORIZED")


@pytest.mark.parametrize("method", ["PATCH", "POST /complete", "POST /reopen"])
async def test_patch_and_actions_on_a_deleted_task_are_404(
    alice: httpx.AsyncClient, method: str
) -> None:
    task = await create_task(alice)
    await alice.delete(f"/api/tasks/{task['id']}")
    if method == "PATCH":
        response = await alice.patch(f"/api/tasks/{task['id']}", json={"title": "x"})
    else:
        response = await alice.post(f"/api/tasks/{task['id']}{method.split()[1]}")
    assert_not_found(response)
