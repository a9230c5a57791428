"""A user's time zone: `timezone` on GET /api/auth/me, set by PATCH /api/auth/me, an IANA name
(links kept as given), "UTC" until set; anything else is 400 naming it and changes nothing."""

from typing import Any

import httpx
import pytest

from tests.lists.helpers import create_list
from tests.lists.sharing import share
from tests.support import assert_error
from tests.tasks.helpers import assert_validation_error, create_task


async def me(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/auth/me")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def set_zone(client: httpx.AsyncClient, zone: str) -> dict[str, Any]:
    response = await client.patch("/api/auth/me", json={"timezone": zone})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_new_user_is_in_utc(alice: httpx.AsyncClient) -> None:
    assert (await me(alice))["timezone"] == "UTC"


@pytest.mark.parametrize(
    "zone", ["Europe/Berlin", "Asia/Kolkata", "Asia/Calcutta", "America/Argentina/Buenos_Aires"]
)
async def test_patch_sets_the_zone_and_answers_the_user_as_get_shows_it(
    alice: httpx.AsyncClient, zone: str
) -> None:
    before = await me(alice)
    changed = await set_zone(alice, zone)
    assert changed["timezone"] == zone  # a link stays as given
    assert changed == await me(alice)
    assert changed["updated_at"] >= before["updated_at"]
    assert {k: v for k, v in changed.items() if k not in ("timezone", "updated_at")} == {
        k: v for k, v in before.items() if k not in ("timezone", "updated_at")
    }


@pytest.mark.parametrize(
    "zone",
    [
        pytest.param("Mars/Olympus", id="unknown"),
        pytest.param("utc+1", id="offset"),
        pytest.param("utc", id="wrong-case"),
        pytest.param("europe/berlin", id="wrong-case-region"),
        pytest.param("", id="empty"),
        pytest.param(" Europe/Berlin", id="padded"),
        pytest.param(1, id="number"),
        pytest.param(["Europe/Berlin"], id="array"),
        pytest.param("../../../etc/passwd", id="relative-path"),
        pytest.param("/usr/share/zoneinfo/UTC", id="absolute-path"),
        pytest.param("Europe/Berlin\x00", id="nul"),
        pytest.param(None, id="null"),
        # In the host's zone directory, but not locations: the host's own zone, and the like.
        pytest.param("localtime", id="localtime"),
        pytest.param("posixrules", id="posixrules"),
        pytest.param("Factory", id="factory"),
        pytest.param("posix/Europe/Berlin", id="posix-tree"),
        pytest.param("right/UTC", id="right-tree"),
    ],
)
async def test_a_bad_zone_is_refused_naming_timezone_and_nothing_changes(
    alice: httpx.AsyncClient, zone: Any
) -> None:
    await set_zone(alice, "Asia/Tokyo")
    response = await alice.patch("/api/auth/me", json={"timezone": zone})
    assert_validation_error(response, "timezone")
    assert (await me(alice))["timezone"] == "Asia/Tokyo"


async def test_an_empty_or_unknown_change_is_refused(alice: httpx.AsyncClient) -> None:
    assert_error(await alice.patch("/api/auth/me", json={}), 400, "VALIDATION_ERROR")
    response = await alice.patch("/api/auth/me", json={"timezone": "UTC", "email": "x@y.z"})
    assert_validation_error(response, "email")
    assert (await me(alice))["timezone"] == "UTC"


async def test_patch_needs_a_token(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.patch("/api/auth/me", json={"timezone": "UTC"})
    assert_error(response, 401, "UNAUTHORIZED")


async def test_a_new_task_takes_the_users_zone_and_keeps_it_when_the_user_moves(
    alice: httpx.AsyncClient,
) -> None:
    assert (await create_task(alice))["timezone"] == "UTC"
    await set_zone(alice, "America/New_York")
    task = await create_task(alice, due_date="2026-12-24")
    assert task["timezone"] == "America/New_York"
    await set_zone(alice, "Asia/Kolkata")
    kept = (await alice.get(f"/api/tasks/{task['id']}")).json()
    assert (kept["timezone"], kept["due_date"]) == ("America/New_York", "2026-12-24")
    assert (await create_task(alice))["timezone"] == "Asia/Kolkata"


async def test_a_task_made_in_someone_elses_list_or_under_a_parent_takes_its_creators_zone(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    listed = await create_list(alice, "Household")
    await share(alice, bob, listed["id"])
    await set_zone(bob, "Asia/Tokyo")
    task = await create_task(bob, title="Shared", list_id=listed["id"])
    subtask = await create_task(bob, title="Sub", parent_id=task["id"])
    response = await bob.post(
        "/api/tasks/bulk",
        json={"operations": [{"op": "create", "data": {"title": "Bulk", "list_id": listed["id"]}}]},
    )
    assert response.status_code == 200, response.text
    bulk = response.json()["results"][0]["task"]
    given = await create_task(bob, title="Given", list_id=listed["id"], timezone="Europe/Paris")
    for created, zone in [
        (task, "Asia/Tokyo"),
        (subtask, "Asia/Tokyo"),
        (bulk, "Asia/Tokyo"),
        (given, "Europe/Paris"),
    ]:
        assert created["timezone"] == zone
        stored = (await alice.get(f"/api/tasks/{created['id']}")).json()
        assert stored == created


def test_the_document_describes_patch_me(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/auth/me"]["patch"]
    assert {"200", "400", "401"} <= set(operation["responses"])
    body = schema["components"]["schemas"]["MeUpdate"]
    assert body["properties"]["timezone"]["type"] == "string"  # not nullable
    assert body["properties"]["timezone"]["examples"] == ["Europe/Berlin"]
    assert "timezone" in schema["components"]["schemas"]["Me"]["required"]
