"""Comments on tasks, through HTTP on both databases: who may write, read, change and delete
them, mentions, paging, `comment_count`, and the change feed."""

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from tests.collaboration.helpers import COMMENT_FIELDS, comment, comments_of, task_of
from tests.lists.helpers import create_list
from tests.lists.sharing import remove, share, user_id
from tests.support import assert_error
from tests.tasks.feed_helpers import database, read_feed
from tests.tasks.helpers import assert_validation_error, create_task
from todo_api.collaboration.scheduled import prune_tombstones
from todo_api.config import Settings
from todo_api.kit.ids import utcnow
from todo_api.tables.comments import comment_tombstones

Clients = Callable[..., httpx.AsyncClient]


def _email() -> str:
    return f"u{uuid.uuid4().hex[:12]}@example.com"


async def _shared(owner: httpx.AsyncClient, member: httpx.AsyncClient, role: str) -> str:
    listed = await create_list(owner, f"Shared {uuid.uuid4().hex[:8]}")
    await share(owner, member, listed["id"], role)
    return str(listed["id"])


async def test_a_comment_is_kept_as_written_and_counted_on_the_task(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, title="Milk")
    assert task["comment_count"] == 0
    body = "  **Bold** _text_\n\n- a list\n"
    created = await comment(alice, task["id"], body)
    assert created["body"] == body
    assert created["task_id"] == task["id"]
    assert created["author_id"] == await user_id(alice)
    assert created["mentions"] == []
    assert created["created_at"] == created["updated_at"]
    await comment(alice, task["id"], "Second")
    assert (await task_of(alice, task["id"]))["comment_count"] == 2
    listed = await alice.get("/api/tasks")
    assert [t["comment_count"] for t in listed.json() if t["id"] == task["id"]] == [2]
    assert [c["body"] for c in await comments_of(alice, task["id"])] == [body, "Second"]


async def test_a_body_is_checked(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    url = f"/api/tasks/{task['id']}/comments"
    for bad in ({"body": ""}, {"body": "   \n"}, {"body": "x" * 10_001}, {}, {"body": "a\x00"}):
        assert_validation_error(await alice.post(url, json=bad), "body")
    assert_validation_error(await alice.post(url, json={"body": "ok", "extra": 1}), "extra")
    assert (await alice.post(url, json={"body": "x" * 10_000})).status_code == 201


async def test_pages_oldest_first_with_cursor_and_link(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    bodies = [f"Comment {n}" for n in range(5)]
    for body in bodies:
        await comment(alice, task["id"], body)
    seen: list[str] = []
    response = await alice.get(f"/api/tasks/{task['id']}/comments", params={"limit": 2})
    while True:
        assert response.status_code == 200, response.text
        seen += [c["body"] for c in response.json()]
        if "X-Next-Cursor" not in response.headers:
            assert "Link" not in response.headers
            break
        cursor = response.headers["X-Next-Cursor"]
        assert response.headers["Link"].endswith('>; rel="next"')
        assert f"cursor={cursor}" in response.headers["Link"]
        response = await alice.get(
            f"/api/tasks/{task['id']}/comments", params={"limit": 2, "cursor": cursor}
        )
    assert seen == bodies
    bad = await alice.get(f"/api/tasks/{task['id']}/comments", params={"cursor": "nonsense"})
    assert_validation_error(bad, "cursor")
    assert_validation_error(
        await alice.get(f"/api/tasks/{task['id']}/comments", params={"limit": 101}), "limit"
    )


async def test_an_outsider_gets_404_everywhere_and_learns_nothing(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    task = await create_task(alice)
    made = await comment(alice, task["id"], "Private")
    base = f"/api/tasks/{task['id']}/comments"
    for response in (
        await bob.get(base),
        await bob.post(base, json={"body": "Hi"}),
        await bob.patch(f"{base}/{made['id']}", json={"body": "Hi"}),
        await bob.delete(f"{base}/{made['id']}"),
        await bob.get(f"/api/tasks/{uuid.uuid4()}/comments"),
        await alice.get("/api/tasks/not-a-uuid/comments"),
        await alice.patch(f"{base}/not-a-uuid", json={"body": "Hi"}),
        await alice.delete(f"{base}/{uuid.uuid4()}"),
    ):
        assert_error(response, 404, "NOT_FOUND")
    assert [c["body"] for c in await comments_of(alice, task["id"])] == ["Private"]


async def test_roles_editor_writes_viewer_reads_only_and_ex_member_gets_404(
    alice: httpx.AsyncClient, new_user_client: Clients
) -> None:
    async with new_user_client() as editor, new_user_client() as viewer:
        list_id = await _shared(alice, editor, "editor")
        await share(alice, viewer, list_id, "viewer")
        task = await create_task(alice, list_id=list_id)
        base = f"/api/tasks/{task['id']}/comments"
        by_editor = await comment(editor, task["id"], "From the editor")
        by_owner = await comment(alice, task["id"], "From the owner")

        # A viewer reads, and may not write, change or delete.
        assert [c["body"] for c in await comments_of(viewer, task["id"])] == [
            "From the editor",
            "From the owner",
        ]
        assert_error(await viewer.post(base, json={"body": "No"}), 403, "FORBIDDEN")
        assert_error(
            await viewer.patch(f"{base}/{by_editor['id']}", json={"body": "No"}), 403, "FORBIDDEN"
        )
        assert_error(await viewer.delete(f"{base}/{by_editor['id']}"), 403, "FORBIDDEN")

        # The editor changes their own, not the owner's; the owner deletes any.
        assert_error(
            await editor.patch(f"{base}/{by_owner['id']}", json={"body": "No"}), 403, "FORBIDDEN"
        )
        assert_error(await editor.delete(f"{base}/{by_owner['id']}"), 403, "FORBIDDEN")
        changed = await editor.patch(f"{base}/{by_editor['id']}", json={"body": "Edited"})
        assert changed.status_code == 200, changed.text
        assert set(changed.json()) == COMMENT_FIELDS
        assert changed.json()["body"] == "Edited"
        assert changed.json()["updated_at"] >= by_editor["updated_at"]
        assert (await alice.delete(f"{base}/{by_editor['id']}")).status_code == 204
        assert (await task_of(alice, task["id"]))["comment_count"] == 1
        assert_error(await alice.delete(f"{base}/{by_editor['id']}"), 404, "NOT_FOUND")

        # Removed from the list: 404, as for someone who never was a member.
        await remove(alice, list_id, await user_id(editor))
        assert_error(await editor.get(base), 404, "NOT_FOUND")
        assert_error(await editor.post(base, json={"body": "Still?"}), 404, "NOT_FOUND")


async def test_a_comment_of_another_task_is_not_found_under_this_one(
    alice: httpx.AsyncClient,
) -> None:
    first, second = await create_task(alice), await create_task(alice)
    made = await comment(alice, first["id"], "On the first")
    url = f"/api/tasks/{second['id']}/comments/{made['id']}"
    assert_error(await alice.patch(url, json={"body": "x"}), 404, "NOT_FOUND")
    assert_error(await alice.delete(url), 404, "NOT_FOUND")


async def test_mentions_name_members_who_see_the_task_and_nobody_else(
    new_user_client: Clients,
) -> None:
    emails = [_email() for _ in range(4)]
    async with (
        new_user_client(email=emails[0]) as owner,
        new_user_client(email=emails[1]) as member,
        new_user_client(email=emails[2]) as outsider,
        new_user_client(email=emails[3]) as viewer,
    ):
        list_id = await _shared(owner, member, "editor")
        await share(owner, viewer, list_id, "viewer")
        member_id, viewer_id = await user_id(member), await user_id(viewer)
        outsider_id = await user_id(outsider)
        task = await create_task(owner, list_id=list_id)
        body = (
            f"@{emails[1].upper()} and @{emails[2]} and @[Viewer]({viewer_id}) "
            f"and @[Out]({outsider_id}) and mail{emails[1]} and @nobody@example.com."
        )
        made = await comment(owner, task["id"], body)
        assert made["mentions"] == [member_id, viewer_id]
        private = await create_task(owner)
        alone = await comment(owner, private["id"], f"@{emails[1]} cannot see this")
        assert alone["mentions"] == []
        url = f"/api/tasks/{task['id']}/comments/{made['id']}"
        changed = await owner.patch(url, json={"body": f"only @{emails[3]}"})
        assert changed.json()["mentions"] == [viewer_id]


async def test_comments_reach_every_members_feed_and_deletions_too(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, new_user_client: Clients
) -> None:
    list_id = await _shared(alice, bob, "editor")
    task = await create_task(alice, list_id=list_id)
    token = (await read_feed(bob, None))["next"]
    made = await comment(alice, task["id"], "Hello")
    page = await read_feed(bob, token, wait_for=[made["id"]])
    assert [c["id"] for c in page["comments"]] == [made["id"]]
    assert set(page["comments"][0]) == COMMENT_FIELDS
    assert [t["comment_count"] for t in page["changes"]] == [1]
    token = page["next"]
    assert (await alice.delete(f"/api/tasks/{task['id']}/comments/{made['id']}")).status_code == 204
    page = await read_feed(bob, token, wait_for=[made["id"]])
    assert page["deleted_comments"] == [made["id"]]
    assert page["comments"] == []

    # A member who joins later gets the comments from before they came, in their first read
    # after joining; an outsider's feed carries nothing of them.
    kept = await comment(bob, task["id"], "Kept")
    async with new_user_client() as carol, new_user_client() as dave:
        since = (await read_feed(carol, None))["next"]
        await share(alice, carol, list_id, "viewer")
        page = await read_feed(carol, since, wait_for=[kept["id"]])
        assert [c["id"] for c in page["comments"]] == [kept["id"]]
        first = await read_feed(carol, None)
        assert [c["id"] for c in first["comments"]] == [kept["id"]]
        assert (await read_feed(dave, None))["comments"] == []


async def test_a_task_moved_takes_its_comments_where_it_goes(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    list_id = await _shared(alice, bob, "viewer")
    task = await create_task(alice)
    made = await comment(alice, task["id"], "Before the move")
    token = (await read_feed(bob, None))["next"]
    moved = await alice.post(f"/api/tasks/{task['id']}/move", json={"list_id": list_id})
    assert moved.status_code == 200, moved.text
    assert moved.json()["comment_count"] == 1
    page = await read_feed(bob, token, wait_for=[made["id"]])
    assert [c["id"] for c in page["comments"]] == [made["id"]]
    assert [c["body"] for c in await comments_of(bob, task["id"])] == ["Before the move"]


async def test_deleting_a_task_deletes_its_comments(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    made = await comment(alice, task["id"], "Gone soon")
    token = (await read_feed(alice, None))["next"]
    assert (await alice.delete(f"/api/tasks/{task['id']}")).status_code == 204
    page: dict[str, Any] = await read_feed(alice, token, wait_for=[task["id"]])
    assert task["id"] in page["deleted"]
    assert made["id"] in page["deleted_comments"]
    assert_error(await alice.get(f"/api/tasks/{task['id']}/comments"), 404, "NOT_FOUND")


async def test_comment_tombstones_are_pruned_after_the_feeds_retention(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    task = await create_task(alice)
    old, recent = await comment(alice, task["id"], "Old"), await comment(alice, task["id"], "New")
    for made in (old, recent):
        url = f"/api/tasks/{task['id']}/comments/{made['id']}"
        assert (await alice.delete(url)).status_code == 204
    stones = comment_tombstones.c
    async with database(settings) as db:
        async with db.transaction() as conn:
            long_ago = utcnow() - timedelta(days=settings.sync_retention_days + 1)
            await conn.execute(
                update(comment_tombstones)
                .where(stones.comment_id == uuid.UUID(old["id"]))
                .values(deleted_at=long_ago)
            )
        assert await prune_tombstones(db, settings) >= 1
        async with db.connection() as conn:
            kept = await conn.execute(
                select(stones.comment_id).where(
                    stones.comment_id.in_([uuid.UUID(old["id"]), uuid.UUID(recent["id"])])
                )
            )
    assert [row.comment_id for row in kept.rows] == [uuid.UUID(recent["id"])]
