"""Every route of a shared list and its tasks, walked as its owner, an editor, a viewer, an
outsider and an ex-member: the exact status for each, and nothing changed by a refusal.

A refusal to someone who cannot see the thing is the 404 of a thing that does not exist (same
body); to a member who may see it but not do this, 403 FORBIDDEN."""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.lists.helpers import create_list
from tests.lists.sharing import invite, remove, share, unknown_id, user_id
from tests.tasks.helpers import create_task

ROLES = ("owner", "editor", "viewer", "outsider", "ex_member")


@dataclass
class Scene:
    clients: dict[str, httpx.AsyncClient]
    list_id: str
    task_id: str
    other_id: str  # a viewer whom people are asked to change or remove
    invitation_id: str
    ids: dict[str, str]  # each role's user id

    async def owner_view(self) -> list[Any]:
        """What the owner sees of the list, its task and its people."""
        owner = self.clients["owner"]
        paths = [
            f"/api/lists/{self.list_id}",
            f"/api/tasks/{self.task_id}",
            f"/api/lists/{self.list_id}/members",
            f"/api/lists/{self.list_id}/invitations",
            f"/api/tasks?list_id={self.list_id}",
        ]
        return [(await owner.get(path)).json() for path in paths]


@pytest.fixture
async def scene(new_user_client: Callable[..., httpx.AsyncClient]) -> AsyncIterator[Scene]:
    clients = {role: new_user_client() for role in (*ROLES, "other")}
    try:
        owner = clients["owner"]
        listed = await create_list(owner, "Shared")
        list_id = listed["id"]
        task = await create_task(owner, title="Shared task", list_id=list_id)
        for role, as_role in (
            ("editor", "editor"),
            ("viewer", "viewer"),
            ("ex_member", "editor"),
            ("other", "viewer"),
        ):
            await share(owner, clients[role], list_id, as_role)
        await remove(owner, list_id, await user_id(clients["ex_member"]))
        await invite(owner, list_id, "viewer")
        invitations = (await owner.get(f"/api/lists/{list_id}/invitations")).json()
        yield Scene(
            clients,
            list_id,
            task["id"],
            await user_id(clients["other"]),
            invitations[0]["id"],
            {role: await user_id(clients[role]) for role in ROLES},
        )
    finally:
        for client in clients.values():
            await client.aclose()


# (method, path, body, statuses for owner, editor, viewer, outsider, ex-member); {list},
# {task}, {other} and {invitation} are the scene's, {me} the caller's user id.
T = "/api/tasks/{task}"
L = "/api/lists/{list}"
U = "/api/{me}/tasks"
ROUTES: list[tuple[str, str, Any, tuple[int, ...]]] = [
    ("GET", T, None, (200, 200, 200, 404, 404)),
    ("PATCH", T, {"title": "Changed"}, (200, 200, 403, 404, 404)),
    ("PUT", T, {"title": "Changed"}, (200, 200, 403, 404, 404)),
    ("DELETE", T, None, (204, 204, 403, 404, 404)),
    ("POST", T + "/complete", None, (200, 200, 403, 404, 404)),
    ("POST", T + "/reopen", None, (200, 200, 403, 404, 404)),
    ("POST", T + "/move", {}, (200, 200, 403, 404, 404)),
    ("POST", "/api/tasks", {"title": "New", "list_id": "{list}"}, (201, 201, 403, 400, 400)),
    ("POST", "/api/tasks", {"title": "Sub", "parent_id": "{task}"}, (201, 201, 403, 400, 400)),
    (
        "POST",
        "/api/tasks/bulk",
        {"operations": [{"op": "update", "id": "{task}", "data": {"priority": "high"}}]},
        (200, 200, 403, 404, 404),
    ),
    ("GET", U + "/{task}", None, (200, 200, 200, 404, 404)),
    ("PUT", U + "/{task}", {"title": "Changed"}, (200, 200, 403, 404, 404)),
    ("DELETE", U + "/{task}", None, (204, 204, 403, 404, 404)),
    ("PATCH", U + "/{task}/complete", None, (200, 200, 403, 404, 404)),
    ("POST", U, {"title": "New", "list_id": "{list}"}, (201, 201, 403, 400, 400)),
    ("GET", L, None, (200, 200, 200, 404, 404)),
    ("PATCH", L, {"name": "Renamed"}, (200, 403, 403, 404, 404)),
    ("DELETE", L, None, (204, 403, 403, 404, 404)),
    ("POST", L + "/move", {}, (200, 200, 200, 404, 404)),
    ("GET", L + "/members", None, (200, 200, 200, 404, 404)),
    ("PATCH", L + "/members/{other}", {"role": "editor"}, (200, 403, 403, 404, 404)),
    ("DELETE", L + "/members/{other}", None, (204, 403, 403, 404, 404)),
    ("POST", L + "/invitations", {"role": "viewer"}, (201, 403, 403, 404, 404)),
    ("GET", L + "/invitations", None, (200, 403, 403, 404, 404)),
    ("DELETE", L + "/invitations/{invitation}", None, (204, 403, 403, 404, 404)),
]
# What the owner sees changes with these successes (and with nothing else).
WRITES = {"PATCH", "PUT", "DELETE", "POST"}


def _fill(value: Any, scene: Scene, role: str) -> Any:
    if isinstance(value, str):
        return (
            value.replace("{list}", scene.list_id)
            .replace("{task}", scene.task_id)
            .replace("{other}", scene.other_id)
            .replace("{invitation}", scene.invitation_id)
            .replace("{me}", scene.ids[role])
        )
    if isinstance(value, dict):
        return {k: _fill(v, scene, role) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, scene, role) for v in value]
    return value


CASES = [
    pytest.param(method, path, body, role, status, id=f"{method} {path} {body or ''} as {role}")
    for method, path, body, statuses in ROUTES
    for role, status in zip(ROLES, statuses, strict=True)
]


@pytest.mark.parametrize(("method", "path", "body", "role", "status"), CASES)
async def test_each_route_answers_each_role_exactly(
    scene: Scene, method: str, path: str, body: Any, role: str, status: int
) -> None:
    client = scene.clients[role]
    before = await scene.owner_view()
    url = _fill(path, scene, role)
    response = await client.request(method, url, json=_fill(body, scene, role))
    assert response.status_code == status, response.text
    if status == 404:
        missing = _fill(path, scene, role).replace(scene.list_id, unknown_id())
        missing = missing.replace(scene.task_id, unknown_id())
        if missing != url:  # the same answer as for a thing that does not exist
            nothing = await client.request(method, missing, json=_fill(body, scene, role))
            assert nothing.status_code == 404
            assert nothing.json() == response.json()
    if status in (403, 404):
        assert response.json()["code"] == ("FORBIDDEN" if status == 403 else "NOT_FOUND")
        assert await scene.owner_view() == before
    if status == 400:
        assert response.json()["details"][0]["field"] in ("list_id", "parent_id")
        assert await scene.owner_view() == before


# The route's path in the OpenAPI document.
PATH_PARAMETERS = {
    "{me}": "{user_id}",
    "{task}": "{task_id}",
    "{list}": "{list_id}",
    "{other}": "{user_id}",
    "{invitation}": "{invitation_id}",
}


async def test_every_status_a_role_gets_is_documented(schema: dict[str, Any]) -> None:
    for method, path, _, statuses in ROUTES:
        documented = path
        for placeholder, parameter in PATH_PARAMETERS.items():
            documented = documented.replace(placeholder, parameter)
        responses = schema["paths"][documented][method.lower()]["responses"]
        assert {str(status) for status in statuses} <= set(responses), (method, path)


async def test_a_listing_shows_an_outsider_and_an_ex_member_nothing_of_the_list(
    scene: Scene,
) -> None:
    for role in ROLES:
        response = await scene.clients[role].get(f"/api/tasks?list_id={scene.list_id}")
        titles = [task["title"] for task in response.json()]
        assert titles == (["Shared task"] if role in ("owner", "editor", "viewer") else [])
        lists = [item["id"] for item in (await scene.clients[role].get("/api/lists")).json()]
        assert (scene.list_id in lists) == (role in ("owner", "editor", "viewer"))
