"""Profile claims through HTTP, on both databases: a token's `email` and `name` that differ
from the stored user's update the row (seen at `GET /api/auth/me`), without a write per
request; an email that belongs to another user is ignored, not an error."""

import asyncio
import secrets
import time
import uuid
from datetime import datetime
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from tests.support import TEST_SECRET, client_for
from todo_api.auth.identity import Identity
from todo_api.auth.profile import update_profile
from todo_api.auth.tokens import user_id_for_subject
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.tables.users import users


def token(subject: str, *, iat: int | None = None, **profile: str | None) -> str:
    """An HS256 token for `subject` carrying the given claims (None leaves one out)."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "iat": iat or now, "exp": now + 600}
    claims.update({key: value for key, value in profile.items() if value is not None})
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


def unique_email(label: str = "profile") -> str:
    return f"{label}-{secrets.token_hex(6)}@example.com"


async def me(app: FastAPI, bearer: str) -> dict[str, Any]:
    async with client_for(app, bearer) as client:
        response = await client.get("/api/auth/me")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def stored(app: FastAPI, subject: str) -> Any:
    async with held(app, Database).connection() as conn:
        return (
            await conn.execute(select(users).where(users.c.id == user_id_for_subject(subject)))
        ).one()


async def change_row_behind_the_service(app: FastAPI, subject: str, **values: Any) -> None:
    async with held(app, Database).transaction() as conn:
        await conn.execute(
            update(users).where(users.c.id == user_id_for_subject(subject)).values(**values)
        )


async def test_new_name_and_email_in_a_token_update_the_user(app: FastAPI) -> None:
    subject, first_email, new_email = f"ba-{secrets.token_hex(8)}", unique_email(), unique_email()
    before = await me(app, token(subject, email=first_email, name="Ada Byron"))
    assert (before["email"], before["name"]) == (first_email, "Ada Byron")

    after = await me(app, token(subject, email=new_email.upper(), name="Ada Lovelace"))
    assert after["id"] == before["id"]
    assert (after["email"], after["name"]) == (new_email, "Ada Lovelace")
    assert datetime.fromisoformat(after["updated_at"]) >= datetime.fromisoformat(
        before["updated_at"]
    )
    assert after["created_at"] == before["created_at"]


async def test_only_the_claims_a_token_carries_are_applied(app: FastAPI) -> None:
    subject, email = f"ba-{secrets.token_hex(8)}", unique_email()
    await me(app, token(subject, email=email, name="Grace"))
    body = await me(app, token(subject))  # neither claim: nothing is cleared
    assert (body["email"], body["name"]) == (email, "Grace")
    body = await me(app, token(subject, name="Grace Hopper"))
    assert (body["email"], body["name"]) == (email, "Grace Hopper")
    body = await me(app, token(subject, email="not an email"))  # unusable: ignored
    assert (body["email"], body["name"]) == (email, "Grace Hopper")


async def test_email_of_another_user_is_ignored_not_an_error(app: FastAPI) -> None:
    owner, other = f"owner-{secrets.token_hex(8)}", f"other-{secrets.token_hex(8)}"
    owners_email, others_email = unique_email("owner"), unique_email("other")
    await me(app, token(owner, email=owners_email))
    await me(app, token(other, email=others_email, name="Other"))

    claimed = token(other, email=owners_email.upper(), name="Renamed")
    async with client_for(app, claimed) as client:
        created = await client.post("/api/tasks", json={"title": "still works"})
        body = (await client.get("/api/auth/me")).json()
    assert created.status_code == 201, created.text
    assert (body["email"], body["name"]) == (others_email, "Renamed")
    assert (await stored(app, owner)).email == owners_email


async def test_a_token_without_news_writes_nothing(app: FastAPI) -> None:
    """Once a token's claims are applied, the same claims again cost no write: a change made
    to the row meanwhile (by another process, say) is not overwritten by every request."""
    subject, email = f"ba-{secrets.token_hex(8)}", unique_email()
    bearer = token(subject, email=email, name="Alan")
    await me(app, bearer)
    await change_row_behind_the_service(app, subject, name="Changed elsewhere")
    for _ in range(3):
        assert (await me(app, bearer))["name"] == "Changed elsewhere"
    # A token with a different name is news, and is applied.
    assert (await me(app, token(subject, email=email, name="Alan Turing")))["name"] == (
        "Alan Turing"
    )


async def test_claims_of_an_older_token_do_not_undo_a_newer_one(app: FastAPI) -> None:
    """Two devices, one with a token from before the rename: the row keeps the new name."""
    subject, email = f"ba-{secrets.token_hex(8)}", unique_email()
    now = int(time.time())
    old = token(subject, iat=now - 300, email=email, name="Old name")
    new = token(subject, iat=now, email=email, name="New name")
    assert (await me(app, old))["name"] == "Old name"
    assert (await me(app, new))["name"] == "New name"
    for bearer in (old, new, old):
        assert (await me(app, bearer))["name"] == "New name"


async def test_two_users_claiming_one_email_at_once_both_succeed(app: FastAPI) -> None:
    subjects = [f"racer-{secrets.token_hex(8)}" for _ in range(4)]
    for subject in subjects:
        await me(app, token(subject, email=unique_email("racer")))
    contested = unique_email("contested")

    async def claim(subject: str) -> int:
        async with client_for(app, token(subject, email=contested, name=subject)) as client:
            return (await client.get("/api/tasks")).status_code

    statuses = await asyncio.wait_for(asyncio.gather(*(claim(s) for s in subjects)), 30)
    assert statuses == [200] * len(subjects)
    rows = [await stored(app, subject) for subject in subjects]
    assert [row.email for row in rows].count(contested) == 1
    assert [row.name for row in rows] == subjects  # every name was applied


async def test_update_profile_writes_only_what_differs(app: FastAPI) -> None:
    subject, email = f"ba-{secrets.token_hex(8)}", unique_email()
    await me(app, token(subject, email=email, name="Before"))
    user_id = user_id_for_subject(subject)
    updated_at = (await stored(app, subject)).updated_at
    same = Identity(user_id=user_id, subject=subject, email=email, name="Before")
    async with held(app, Database).connection() as conn:
        await update_profile(conn, same)
    assert (await stored(app, subject)).updated_at == updated_at  # nothing to write
    renamed = Identity(user_id=user_id, subject=subject, email=None, name="After")
    async with held(app, Database).connection() as conn:
        await update_profile(conn, renamed)
    row = await stored(app, subject)
    assert (row.email, row.name) == (email, "After")
    assert row.updated_at > updated_at


@pytest.mark.parametrize("claim", ["email", "name"])
async def test_a_user_unknown_to_the_database_is_not_created_by_the_update(
    app: FastAPI, claim: str
) -> None:
    identity = Identity(
        user_id=uuid.uuid4(),
        subject="nobody",
        email=unique_email() if claim == "email" else None,
        name="Nobody" if claim == "name" else None,
    )
    async with held(app, Database).connection() as conn:
        await update_profile(conn, identity)
        found = (await conn.execute(select(users).where(users.c.id == identity.user_id))).first()
    assert found is None


async def test_email_taken_while_the_update_runs_keeps_the_name(app: FastAPI) -> None:
    """Another user takes the email after the check and before the write: the unique index
    refuses it, and the name is applied all the same."""
    taker, claimer = f"taker-{secrets.token_hex(8)}", f"claimer-{secrets.token_hex(8)}"
    claimers_email, contested = unique_email("claimer"), unique_email("contested")
    await me(app, token(taker, email=unique_email("taker")))
    await me(app, token(claimer, email=claimers_email, name="Before"))
    identity = Identity(
        user_id=user_id_for_subject(claimer), subject=claimer, email=contested, name="After"
    )
    async with held(app, Database).connection() as holder, held(app, Database).connection() as conn:
        async with holder.transaction():
            await holder.execute(
                update(users)
                .where(users.c.id == user_id_for_subject(taker))
                .values(email=contested)
            )
            claim = asyncio.create_task(update_profile(conn, identity))
            await asyncio.sleep(0.3)  # the claim is now waiting on the uncommitted write
        await asyncio.wait_for(claim, 15)
    assert (await stored(app, taker)).email == contested
    row = await stored(app, claimer)
    assert (row.email, row.name) == (claimers_email, "After")


# --- claims that cannot be stored -----------------------------------------------------------

# Each passes a length check made before normalising: `İ` lower-cases to two characters (i and a
# combining dot), and U+0958 (a composition exclusion) is two characters in NFC.
GROWING_EMAIL = "\u0130" * 200 + "@example.com"  # 212 characters; 412 once lower-cased
GROWING_NAME = "\u0958" * 150  # 150 characters; 300 in NFC
LONG_NAME = "n" * 201


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"email": GROWING_EMAIL}, id="email-that-grows-when-lower-cased"),
        pytest.param({"email": "a" * 309 + "@example.com"}, id="email-over-320"),
        pytest.param({"name": GROWING_NAME}, id="name-that-grows-in-nfc"),
        pytest.param({"name": LONG_NAME}, id="name-over-200"),
    ],
)
async def test_claim_that_cannot_be_stored_changes_nothing(
    app: FastAPI, claims: dict[str, str]
) -> None:
    """On first sight (the row is created without it) and later (the row keeps its values),
    the request proceeds as if the token did not carry the claim."""
    subject = f"unstorable-{uuid.uuid4().hex}"
    async with client_for(app, token(subject, **claims)) as client:
        created = await client.post("/api/tasks", json={"title": "first sight"})
        listed = await client.get("/api/tasks")
    assert created.status_code == 201, created.text
    assert listed.status_code == 200, listed.text
    row = await stored(app, subject)
    assert (row.email, row.name) == (None, None)

    email, name = unique_email(), "Ada"
    assert (await me(app, token(subject, email=email, name=name)))["name"] == name
    later = token(subject, iat=int(time.time()) + 1, **claims)
    async with client_for(app, later) as client:
        response = await client.post("/api/tasks", json={"title": "later"})
    assert response.status_code == 201, response.text
    row = await stored(app, subject)
    assert (row.email, row.name) == (email, name)


async def test_claims_are_kept_in_nfc(app: FastAPI) -> None:
    subject = f"nfc-{uuid.uuid4().hex}"
    tag = secrets.token_hex(4)
    decomposed = f"cafe\u0301-{tag}@example.com"  # é as e + a combining acute
    body = await me(app, token(subject, email=decomposed, name="Jose\u0301"))
    assert body["email"] == f"caf\u00e9-{tag}@example.com"
    assert body["name"] == "Jos\u00e9"
