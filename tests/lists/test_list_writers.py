"""Who changed a list: every write of a list records its writer (`lists.updated_by`), and the
list's `list.updated` activity names them, not the list's owner."""

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from tests.lists.helpers import create_list
from tests.lists.sharing import share, user_id

Clients = Callable[..., httpx.AsyncClient]


async def _activity(client: httpx.AsyncClient, list_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/lists/{list_id}/activity")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


async def test_a_list_passed_on_is_the_doing_of_who_left(
    alice: httpx.AsyncClient, new_user_client: Clients
) -> None:
    """An owner deleting their account passes a shared list to its editor: the activity's
    `list.updated` names the one who left (as its webhook event does), not the heir, who
    owns the list only once the change is made."""
    email = f"leaving{uuid.uuid4().hex[:8]}@example.test"
    alice_id = await user_id(alice)
    async with new_user_client(email=email) as leaving:
        leaving_id = await user_id(leaving)
        owned = await create_list(leaving, f"Passed on {uuid.uuid4().hex[:6]}")
        renamed = await leaving.patch(f"/api/lists/{owned['id']}", json={"name": "Chores"})
        assert renamed.status_code == 200, renamed.text
        await share(leaving, alice, owned["id"], "editor")
        deleted = await leaving.request("DELETE", "/api/auth/me", json={"confirm": email})
        assert deleted.status_code == 204, deleted.text
    updates = [i for i in await _activity(alice, owned["id"]) if i["action"] == "list.updated"]
    by_change = {next(iter(item["changes"])): item for item in updates}
    assert by_change["owner_id"]["changes"]["owner_id"] == [leaving_id, alice_id]
    assert by_change["owner_id"]["actor_id"] == leaving_id
    assert by_change["name"]["actor_id"] == leaving_id
    # The heir's own change is theirs.
    recoloured = await alice.patch(f"/api/lists/{owned['id']}", json={"color": "#336699"})
    assert recoloured.status_code == 200, recoloured.text
    [latest] = (await _activity(alice, owned["id"]))[:1]
    assert (latest["action"], latest["actor_id"]) == ("list.updated", alice_id)
