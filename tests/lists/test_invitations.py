"""Invitation links to a shared list: made, listed and revoked by the list's owner only, the
token shown once; accepted by anyone signed in, several times, until it expires; unknown,
expired and revoked tokens are 404, and a user who keeps sending them is slowed. Every test
runs on SQLite and PostgreSQL."""

import hashlib
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from tests.lists.helpers import LIST_FIELDS, create_list
from tests.lists.sharing import share
from tests.support import assert_error, captured_logs
from tests.tasks.helpers import assert_validation_error, etag_of, timestamp, user_id_of
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.kit.ids import utcnow
from todo_api.lists.members import ACCEPT_FAILURES_PER_MINUTE
from todo_api.lists.scheduled import prune_invitations
from todo_api.tables.lists import list_invitations

ACCEPT = "/api/invitations/accept"
LINK_FIELDS = {"id", "token", "role", "expires_at", "created_at"}


def invitations_url(list_id: str) -> str:
    return f"/api/lists/{list_id}/invitations"


async def invite(
    owner: httpx.AsyncClient, list_id: str, role: str = "editor", **fields: Any
) -> dict[str, Any]:
    """A new invitation link to the list, with its token."""
    response = await owner.post(invitations_url(list_id), json={"role": role, **fields})
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    assert set(link) == LINK_FIELDS
    return link


async def accept(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(ACCEPT, json={"token": token})


async def listed(owner: httpx.AsyncClient, list_id: str) -> list[dict[str, object]]:
    response = await owner.get(invitations_url(list_id))
    assert response.status_code == 200, response.text
    body: list[dict[str, object]] = response.json()
    return body


async def test_a_link_shows_its_token_once_and_the_list_of_links_never(
    alice: httpx.AsyncClient,
) -> None:
    made = await create_list(alice, "Groceries")
    response = await alice.post(invitations_url(made["id"]), json={"role": "viewer"})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    link = response.json()
    assert link["role"] == "viewer"
    assert len(link["token"]) >= 43  # 32 random bytes, base64url
    created, expires = timestamp(link["created_at"]), timestamp(link["expires_at"])
    assert expires - created == timedelta(days=7)
    listing = await alice.get(invitations_url(made["id"]))
    assert listing.status_code == 200, listing.text
    assert listing.json() == [{k: v for k, v in link.items() if k != "token"}]
    assert link["token"] not in listing.text


async def test_links_are_listed_newest_first_and_each_token_differs(
    alice: httpx.AsyncClient,
) -> None:
    made = await create_list(alice, "Work")
    first = await invite(alice, made["id"], "editor", expires_in_days=1)
    second = await invite(alice, made["id"], "viewer", expires_in_days=30)
    assert first["token"] != second["token"]
    expires = timestamp(second["expires_at"]) - timestamp(second["created_at"])
    assert expires == timedelta(days=30)
    assert [item["id"] for item in await listed(alice, made["id"])] == [second["id"], first["id"]]
    other = await create_list(alice, "Home")
    assert await listed(alice, other["id"]) == []


async def test_a_whole_number_of_days_may_be_written_with_a_point(
    alice: httpx.AsyncClient,
) -> None:
    """JSON has numbers: 7.0 is the integer the document asks for."""
    made = await create_list(alice, "Garden")
    link = await invite(alice, made["id"], "viewer", expires_in_days=7.0)
    assert timestamp(link["expires_at"]) - timestamp(link["created_at"]) == timedelta(days=7)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "owner"}, "role"),
        ({"role": "admin"}, "role"),
        ({}, "role"),
        ({"role": "editor", "expires_in_days": 0}, "expires_in_days"),
        ({"role": "editor", "expires_in_days": 31}, "expires_in_days"),
        ({"role": "editor", "expires_in_days": "7"}, "expires_in_days"),
        ({"role": "editor", "expires_in_days": 1.5}, "expires_in_days"),
        ({"role": "editor", "expires_in_days": True}, "expires_in_days"),
        ({"role": "editor", "expires_in_days": None}, "expires_in_days"),
        ({"role": "editor", "token": "mine"}, "token"),
    ],
)
async def test_a_bad_link_is_refused_naming_the_field(
    alice: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    made = await create_list(alice, "Errands")
    assert_validation_error(await alice.post(invitations_url(made["id"]), json=body), field)
    assert await listed(alice, made["id"]) == []


async def test_accepting_makes_a_member_who_sees_the_list_as_the_answer_shows_it(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    made = await create_list(alice, "Groceries", color="#aabbcc")
    before = etag_of(await alice.get(f"/api/lists/{made['id']}"))
    response = await accept(bob, (await invite(alice, made["id"], "editor"))["token"])
    assert response.status_code == 200, response.text
    shown = response.json()
    assert set(shown) == LIST_FIELDS
    assert shown["id"] == made["id"]
    assert shown["name"] == "Groceries"
    assert shown["role"] == "editor"
    assert shown["owner_id"] == str(await user_id_of(alice))
    assert shown["member_count"] == 2
    got = await bob.get(f"/api/lists/{made['id']}")
    assert got.status_code == 200, got.text
    assert got.json() == shown
    assert etag_of(response) == etag_of(got)
    assert (await bob.get("/api/lists")).json() == [shown]
    # The owner's view moved on with the new member (the change feed carries it).
    owners = await alice.get(f"/api/lists/{made['id']}")
    assert owners.json()["member_count"] == 2
    assert owners.json()["role"] == "owner"
    assert etag_of(owners) != before


async def test_a_shared_list_goes_last_among_the_members_own(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    own = await create_list(bob, "Groceries")  # the same name as the shared one: fine
    made = await create_list(alice, "Groceries")
    await share(alice, bob, made["id"], "viewer")
    lists = (await bob.get("/api/lists")).json()
    assert [(item["id"], item["role"]) for item in lists] == [
        (own["id"], "owner"),
        (made["id"], "viewer"),
    ]


async def test_each_member_orders_a_shared_list_among_their_own_alone(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    alices_first = await create_list(alice, "Work")
    made = await create_list(alice, "Household")
    bobs_own = await create_list(bob, "Books")
    await share(alice, bob, made["id"], "viewer")
    alices_order = [item["id"] for item in (await alice.get("/api/lists")).json()]
    assert alices_order == [alices_first["id"], made["id"]]

    moved = await bob.post(f"/api/lists/{made['id']}/move", json={"before": bobs_own["id"]})
    assert moved.status_code == 200, moved.text
    assert [item["id"] for item in (await bob.get("/api/lists")).json()] == [
        made["id"],
        bobs_own["id"],
    ]
    assert [item["id"] for item in (await alice.get("/api/lists")).json()] == alices_order
    # A list of someone else's is no neighbour to place by.
    response = await bob.post(f"/api/lists/{made['id']}/move", json={"after": alices_first["id"]})
    assert response.status_code == 400, response.text
    assert response.json()["details"][0]["field"] == "after"


async def test_several_people_may_use_one_link(
    alice: httpx.AsyncClient, new_user_client: Callable[..., httpx.AsyncClient]
) -> None:
    made = await create_list(alice, "Team")
    token = (await invite(alice, made["id"], "viewer"))["token"]
    for _ in range(3):
        async with new_user_client() as someone:
            response = await accept(someone, token)
            assert response.status_code == 200, response.text
            assert response.json()["role"] == "viewer"
    assert (await alice.get(f"/api/lists/{made['id']}")).json()["member_count"] == 4
    assert len(await listed(alice, made["id"])) == 1


async def test_accepting_again_or_as_the_owner_changes_nothing(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    made = await create_list(alice, "Home")
    editor_link = await invite(alice, made["id"], "editor")
    viewer_link = await invite(alice, made["id"], "viewer")
    first = await accept(bob, viewer_link["token"])
    assert first.status_code == 200, first.text
    for link in (viewer_link, editor_link):  # no promotion, no demotion
        again = await accept(bob, link["token"])
        assert again.status_code == 200, again.text
        assert again.json() == first.json()
        assert etag_of(again) == etag_of(first)
    owners = await alice.get(f"/api/lists/{made['id']}")
    for link in (viewer_link, editor_link):
        by_owner = await accept(alice, link["token"])
        assert by_owner.status_code == 200, by_owner.text
        assert by_owner.json() == owners.json()
        assert by_owner.json()["role"] == "owner"
    members = (await alice.get(f"/api/lists/{made['id']}/members")).json()
    assert [member["role"] for member in members] == ["owner", "viewer"]


async def test_unknown_expired_and_revoked_tokens_are_404_alike(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    made = await create_list(alice, "Secret")
    expired = await invite(alice, made["id"])
    async with held(app, Database).connection() as conn:
        await conn.execute(
            update(list_invitations)
            .where(list_invitations.c.id == uuid.UUID(expired["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    revoked = await invite(alice, made["id"])
    response = await alice.delete(f"{invitations_url(made['id'])}/{revoked['id']}")
    assert response.status_code == 204, response.text
    assert response.content == b""
    bodies = []
    for token in (expired["token"], revoked["token"], "no-such-token", "a\x00b"):
        response = await accept(bob, token)
        body = assert_error(response, 404, "NOT_FOUND")
        assert token not in response.text
        bodies.append(body)
    assert all(body == bodies[0] for body in bodies)
    assert await listed(alice, made["id"]) == []  # neither expired nor revoked ones are listed
    assert_error(await bob.get(f"/api/lists/{made['id']}"), 404, "NOT_FOUND")
    assert (await alice.get(f"/api/lists/{made['id']}")).json()["member_count"] == 1


async def test_a_token_is_stored_as_its_hash_alone(app: FastAPI, alice: httpx.AsyncClient) -> None:
    made = await create_list(alice, "Hashed")
    link = await invite(alice, made["id"])
    stored = select(list_invitations).where(list_invitations.c.id == uuid.UUID(link["id"]))
    async with held(app, Database).connection() as conn:
        [row] = (await conn.execute(stored)).rows
    assert row.token_hash == hashlib.sha256(link["token"].encode()).hexdigest()
    assert all(link["token"] not in str(value) for value in row.values())


async def test_housekeeping_deletes_expired_links_and_keeps_the_others(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    made = await create_list(alice, "Pruned")
    expired, kept = await invite(alice, made["id"]), await invite(alice, made["id"])
    db = held(app, Database)
    async with db.connection() as conn:
        await conn.execute(
            update(list_invitations)
            .where(list_invitations.c.id == uuid.UUID(expired["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await prune_invitations(db) >= 1
    async with db.connection() as conn:
        left = select(list_invitations.c.id).where(
            list_invitations.c.list_id == uuid.UUID(made["id"])
        )
        assert [row.id for row in (await conn.execute(left)).rows] == [uuid.UUID(kept["id"])]
    assert [link["id"] for link in await listed(alice, made["id"])] == [kept["id"]]
    assert (await accept(bob, kept["token"])).status_code == 200
    # A revoked link is gone from the table at once: nothing is left to prune.
    revoked = await alice.delete(f"{invitations_url(made['id'])}/{kept['id']}")
    assert revoked.status_code == 204, revoked.text
    async with db.connection() as conn:
        assert (await conn.execute(left)).rows == []


async def test_revoking_an_unknown_link_is_404(alice: httpx.AsyncClient) -> None:
    made = await create_list(alice, "Work")
    link = await invite(alice, made["id"])
    other = await create_list(alice, "Home")
    url = invitations_url(made["id"])
    for path in (
        f"{url}/{uuid.uuid4()}",
        f"{url}/not-a-uuid",
        f"{invitations_url(other['id'])}/{link['id']}",  # not that list's
    ):
        assert_error(await alice.delete(path), 404, "NOT_FOUND")
    assert len(await listed(alice, made["id"])) == 1
    assert (await alice.delete(f"{url}/{link['id']}")).status_code == 204
    assert_error(await alice.delete(f"{url}/{link['id']}"), 404, "NOT_FOUND")


@pytest.mark.parametrize("role", ["editor", "viewer"])
async def test_members_may_not_manage_links_and_nothing_changes(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, role: str
) -> None:
    made = await create_list(alice, "Shared")
    link = await invite(alice, made["id"])
    await share(alice, bob, made["id"], role)
    url = invitations_url(made["id"])
    assert_error(await bob.post(url, json={"role": "viewer"}), 403, "FORBIDDEN")
    assert_error(await bob.get(url), 403, "FORBIDDEN")
    assert_error(await bob.delete(f"{url}/{link['id']}"), 403, "FORBIDDEN")
    assert_error(await bob.delete(f"{url}/{uuid.uuid4()}"), 403, "FORBIDDEN")
    assert [item["id"] for item in await listed(alice, made["id"])][-1] == link["id"]
    assert len(await listed(alice, made["id"])) == 2


async def test_someone_not_a_member_gets_what_a_missing_list_gets(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    made = await create_list(alice, "Private")
    link = await invite(alice, made["id"])
    missing = str(uuid.uuid4())
    for method, suffix, body in (
        ("POST", "", {"role": "editor"}),
        ("GET", "", None),
        ("DELETE", f"/{link['id']}", None),
    ):
        theirs = await bob.request(method, invitations_url(made["id"]) + suffix, json=body)
        nothing = await bob.request(method, invitations_url(missing) + suffix, json=body)
        assert assert_error(theirs, 404, "NOT_FOUND") == assert_error(nothing, 404, "NOT_FOUND")
    assert_error(await bob.get(invitations_url("not-a-uuid")), 404, "NOT_FOUND")
    assert [item["id"] for item in await listed(alice, made["id"])] == [link["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "token"),
        ({"token": ""}, "token"),
        ({"token": 7}, "token"),
        ({"token": "x" * 513}, "token"),
    ],
)
async def test_a_bad_accept_is_refused_naming_the_token(
    bob: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    assert_validation_error(await bob.post(ACCEPT, json=body), field)


async def test_a_token_that_is_no_text_is_refused_naming_it(bob: httpx.AsyncClient) -> None:
    lone_surrogate = b'{"token": "\\ud800"}'
    response = await bob.post(
        ACCEPT, content=lone_surrogate, headers={"content-type": "application/json"}
    )
    assert_validation_error(response, "token")


async def test_accepting_needs_a_token(anonymous: httpx.AsyncClient) -> None:
    assert_error(await anonymous.post(ACCEPT, json={"token": "x"}), 401, "UNAUTHORIZED")


async def test_tokens_are_never_logged(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    made = await create_list(alice, "Logged")
    with captured_logs(caplog):
        link = await invite(alice, made["id"])
        assert (await accept(bob, link["token"])).status_code == 200
        await accept(bob, link["token"] + "x")
        await alice.get(invitations_url(made["id"]))
    assert "POST /api/invitations/accept 200" in caplog.text  # the access log is there
    assert link["token"] not in caplog.text


async def test_failed_accepts_are_limited_per_user_the_right_token_included(
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    new_user_client: Callable[..., httpx.AsyncClient],
) -> None:
    assert ACCEPT_FAILURES_PER_MINUTE == 20  # the contract: 20 unknown tokens in a minute
    made = await create_list(alice, "Guarded")
    token = (await invite(alice, made["id"]))["token"]
    for attempt in range(ACCEPT_FAILURES_PER_MINUTE):
        response = await accept(bob, f"guess-{attempt}")
        assert_error(response, 404, "NOT_FOUND")
    limited = await accept(bob, "one-more-guess")
    assert_error(limited, 429, "RATE_LIMITED")
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # While limited, the right token is refused as well, and joins nothing.
    right = await accept(bob, token)
    assert_error(right, 429, "RATE_LIMITED")
    assert 1 <= int(right.headers["retry-after"]) <= 60
    members = (await alice.get(f"/api/lists/{made['id']}/members")).json()
    assert [m["role"] for m in members] == ["owner"]
    async with new_user_client() as carol:  # counted per user
        assert_error(await accept(carol, "one-more-guess"), 404, "NOT_FOUND")
        assert (await accept(carol, token)).status_code == 200
