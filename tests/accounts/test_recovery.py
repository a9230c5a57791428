"""A forgotten password, a reset by email, a change of password and the list of sign-ins,
through HTTP on both databases, with a real SMTP server catching the emails: the same answer
for known and unknown emails, single-use hashed links that expire, every sign-in (its access
tokens included) ended by a reset or a change, and the service's own page for the link."""

import asyncio
import hashlib
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from tests.accounts.helpers import (
    NEW_PASSWORD,
    PASSWORD,
    TEMPLATE,
    bearer,
    body_of,
    link_token,
    log_in,
    mail_to,
    sign_up,
    to,
    unique_email,
)
from tests.reminders.smtp import Mailbox, mailbox
from tests.support import (
    app_factory,
    assert_error,
    client_for,
    token_for,
    validation_details,
)
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.kit.ids import utcnow
from todo_api.tables.accounts import account_tokens

# No email but those under test (registering would send a link to confirm the email).
QUIET = {"email_verification": "off"}
HEADERS = {
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
}


@pytest.fixture
async def make_app(settings: Settings, tmp_path: Path) -> AsyncIterator[Callable[..., FastAPI]]:
    assert settings.database_url is not None
    async with app_factory(settings.database_url, tmp_path) as make:
        yield make


@pytest.fixture
def app(make_app: Callable[..., FastAPI], box: Mailbox) -> FastAPI:
    """An app sending account emails to `box`, linking to a frontend's page."""
    return make_app(smtp_url=box.url, account_url_template=TEMPLATE, **QUIET)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


async def forgot(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/api/auth/password/forgot", json={"email": email})


async def reset(
    client: httpx.AsyncClient, token: str, password: str = NEW_PASSWORD
) -> httpx.Response:
    body = {"token": token, "password": password}
    return await client.post("/api/auth/password/reset", json=body)


async def reset_token(client: httpx.AsyncClient, box: Mailbox, email: str) -> str:
    before = len(to(box, email))
    assert (await forgot(client, email)).status_code == 202
    message = (await mail_to(box, email, before + 1))[-1]
    return link_token(message, "reset-password")


async def works(client: httpx.AsyncClient, access_token: str) -> int:
    return (await client.get("/api/tasks", headers=bearer(access_token))).status_code


# --- forgot and reset ------------------------------------------------------------------------


async def test_a_reset_link_sets_a_new_password_and_ends_every_sign_in(
    client: httpx.AsyncClient, box: Mailbox
) -> None:
    email = unique_email()
    first = await sign_up(client, email)
    second = (await log_in(client, email)).json()
    assert await works(client, first["access_token"]) == 200

    answer = await forgot(client, email.upper())
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"status": "accepted"}
    [message] = await mail_to(box, email)
    assert set(message.keys()) == HEADERS
    assert message["Subject"] == "Reset your password · Tasks"
    assert message["Auto-Submitted"] == "auto-generated"
    token = link_token(message, "reset-password")
    assert f"https://app.example.com/account/reset-password?token={token}" in body_of(message)
    assert len(token) >= 22  # at least 128 bits, base64url

    assert (await reset(client, token)).status_code == 204
    assert_error(await log_in(client, email), 401, "INVALID_CREDENTIALS")
    assert (await log_in(client, email, NEW_PASSWORD)).status_code == 200
    for signed_in in (first, second):
        refused = await client.get("/api/tasks", headers=bearer(signed_in["access_token"]))
        assert_error(refused, 401, "INVALID_TOKEN")
        again = await client.post(
            "/api/auth/refresh", json={"refresh_token": signed_in["refresh_token"]}
        )
        assert_error(again, 401, "INVALID_TOKEN")
    # Used once.
    details = validation_details(await reset(client, token, "yet another password"))
    assert details[0]["field"] == "token"
    assert (await log_in(client, email, NEW_PASSWORD)).status_code == 200


async def test_the_link_is_kept_hashed_and_expires_after_an_hour(
    app: FastAPI, client: httpx.AsyncClient, box: Mailbox
) -> None:
    email = unique_email()
    await sign_up(client, email)
    token = await reset_token(client, box, email)
    digest = hashlib.sha256(token.encode()).hexdigest()
    async with held(app, Database).connection() as conn:
        row = (
            await conn.execute(select(account_tokens).where(account_tokens.c.token_hash == digest))
        ).one()
        assert row["expires_at"] - row["created_at"] == timedelta(hours=1)
        assert row["purpose"] == "reset"
        await conn.execute(
            update(account_tokens)
            .where(account_tokens.c.token_hash == digest)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    validation_details(await reset(client, token))
    assert (await log_in(client, email)).status_code == 200


async def test_a_new_password_makes_older_reset_links_useless(
    client: httpx.AsyncClient, box: Mailbox
) -> None:
    email = unique_email()
    await sign_up(client, email)
    older = await reset_token(client, box, email)
    newer = await reset_token(client, box, email)
    assert older != newer
    assert (await reset(client, newer)).status_code == 204
    validation_details(await reset(client, older, "an attacker's password"))
    assert (await log_in(client, email, NEW_PASSWORD)).status_code == 200


async def test_forgot_answers_the_same_for_known_and_unknown_emails(
    client: httpx.AsyncClient, box: Mailbox
) -> None:
    known = unique_email()
    await sign_up(client, known)
    unknown = unique_email()
    answers = [await forgot(client, email) for email in (known, unknown)]
    varying = {"date", "x-request-id"}
    shapes = [
        (r.status_code, r.content, {k: v for k, v in r.headers.items() if k not in varying})
        for r in answers
    ]
    assert shapes[0] == shapes[1]
    await mail_to(box, known)
    await asyncio.sleep(0.5)
    assert to(box, unknown) == []


async def test_forgot_answers_before_the_email_is_looked_up_or_sent(
    make_app: Callable[..., FastAPI],
) -> None:
    """The answer never waits for the mail server: here it holds every message until the
    test lets it go, and the known email's 202 comes meanwhile."""
    release = threading.Event()
    with mailbox(on_accept=lambda _message: release.wait(10)) as box:
        app = make_app(smtp_url=box.url, account_url_template=TEMPLATE, **QUIET)
        async with client_for(app) as client:
            email = unique_email()
            await sign_up(client, email)
            assert (await forgot(client, email)).status_code == 202
            assert to(box, email) == []  # taken by the server only once released
            release.set()
            await mail_to(box, email)


async def test_a_user_known_only_from_tokens_gets_no_reset_link(
    app: FastAPI, client: httpx.AsyncClient, box: Mailbox
) -> None:
    """An account without a password (an external issuer's user) is not a built-in one."""
    email = unique_email()
    async with client_for(app, token_for(held(app, Settings), email=email)) as external:
        assert (await external.get("/api/auth/me")).status_code == 200
    assert (await forgot(client, email)).status_code == 202
    await asyncio.sleep(1)
    assert to(box, email) == []


async def test_without_smtp_the_email_routes_are_503_email_unavailable(
    make_app: Callable[..., FastAPI],
) -> None:
    async with client_for(make_app()) as client:
        assert_error(await forgot(client, unique_email()), 503, "EMAIL_UNAVAILABLE")


async def test_forgot_and_reset_are_rate_limited(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    app = make_app(
        smtp_url=box.url, account_url_template=TEMPLATE, **QUIET, auth_rate_limit_attempts=2
    )
    async with client_for(app) as client:
        email = unique_email()
        for _ in range(2):
            assert (await forgot(client, email)).status_code == 202
        limited = await forgot(client, email)
        assert_error(limited, 429, "RATE_LIMITED")
        assert int(limited.headers["retry-after"]) >= 1
        for _ in range(2):
            validation_details(await reset(client, "not-a-token"))
        assert_error(await reset(client, "not-a-token"), 429, "RATE_LIMITED")


async def test_reset_validates_the_new_password(client: httpx.AsyncClient) -> None:
    details = validation_details(await reset(client, "whatever", "short"))
    assert [d["field"] for d in details] == ["password"]


# --- change of password ------------------------------------------------------------------------


async def test_changing_the_password_keeps_this_sign_in_and_ends_the_others(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    this = await sign_up(client, email)
    other = (await log_in(client, email)).json()
    wrong = await client.post(
        "/api/auth/password/change",
        json={"current_password": "not it at all", "new_password": NEW_PASSWORD},
        headers=bearer(this["access_token"]),
    )
    assert_error(wrong, 401, "INVALID_CREDENTIALS")
    assert await works(client, other["access_token"]) == 200

    changed = await client.post(
        "/api/auth/password/change",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(this["access_token"]),
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["cache-control"] == "no-store"
    tokens = changed.json()
    assert tokens["user"]["email"] == email
    assert await works(client, tokens["access_token"]) == 200
    for before in (this, other):  # every access token issued before it
        assert_error(
            await client.get("/api/tasks", headers=bearer(before["access_token"])),
            401,
            "INVALID_TOKEN",
        )
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    assert_error(await log_in(client, email), 401, "INVALID_CREDENTIALS")
    assert (await log_in(client, email, NEW_PASSWORD)).status_code == 200


async def test_a_personal_token_cannot_change_the_password(client: httpx.AsyncClient) -> None:
    signed_in = await sign_up(client)
    made = await client.post(
        "/api/tokens", json={"name": "script"}, headers=bearer(signed_in["access_token"])
    )
    assert made.status_code == 201
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    for path, method, body in (
        ("/api/auth/password/change", "POST", change),
        ("/api/auth/sessions", "GET", None),
        ("/api/auth/logout-all", "POST", None),
    ):
        response = await client.request(
            method, path, json=body, headers=bearer(made.json()["token"])
        )
        assert_error(response, 403, "FORBIDDEN")
    assert (await log_in(client, signed_in["user"]["email"])).status_code == 200


async def test_a_wrong_current_password_counts_as_a_failed_sign_in(
    make_app: Callable[..., FastAPI],
) -> None:
    async with client_for(make_app(auth_rate_limit_attempts=2)) as client:
        email = unique_email()
        signed_in = await sign_up(client, email)
        for _ in range(2):
            wrong = await client.post(
                "/api/auth/password/change",
                json={"current_password": "not the password", "new_password": NEW_PASSWORD},
                headers=bearer(signed_in["access_token"]),
            )
            assert_error(wrong, 401, "INVALID_CREDENTIALS")
        assert_error(await log_in(client, email), 429, "RATE_LIMITED")


# --- sign-ins ------------------------------------------------------------------------------------


async def test_sign_ins_are_listed_and_ended_one_or_all_but_this_one(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    phone = await sign_up(client, email, **{"User-Agent": "Tasks/1.0 (iPhone)"})
    laptop = (await log_in(client, email, **{"User-Agent": "Firefox/140"})).json()
    tablet = (await log_in(client, email, **{"User-Agent": "Tablet"})).json()
    listed = await client.get("/api/auth/sessions", headers=bearer(laptop["access_token"]))
    assert listed.status_code == 200, listed.text
    sessions = listed.json()
    assert [s["user_agent"] for s in sessions] == ["Tablet", "Firefox/140", "Tasks/1.0 (iPhone)"]
    assert [s["current"] for s in sessions] == [False, True, False]
    for s in sessions:
        assert set(s) == {"id", "created_at", "last_used_at", "user_agent", "address", "current"}
        assert s["address"] == "127.0.0.0/24"
    tablet_id = sessions[0]["id"]

    # Someone else cannot end it, and gets the answer of one that does not exist.
    stranger = await sign_up(client)
    for someone, sign_in in ((stranger, tablet_id), (laptop, str(uuid.uuid4())), (laptop, "x")):
        missing = await client.delete(
            f"/api/auth/sessions/{sign_in}", headers=bearer(someone["access_token"])
        )
        assert_error(missing, 404, "NOT_FOUND")
    assert await works(client, tablet["access_token"]) == 200

    ended = await client.delete(
        f"/api/auth/sessions/{tablet_id}", headers=bearer(laptop["access_token"])
    )
    assert ended.status_code == 204
    assert_error(
        await client.get("/api/tasks", headers=bearer(tablet["access_token"])), 401, "INVALID_TOKEN"
    )
    again = await client.post("/api/auth/refresh", json={"refresh_token": tablet["refresh_token"]})
    assert_error(again, 401, "INVALID_TOKEN")

    assert (
        await client.post("/api/auth/logout-all", headers=bearer(laptop["access_token"]))
    ).status_code == 204
    assert await works(client, phone["access_token"]) == 401
    assert await works(client, laptop["access_token"]) == 200
    left = (await client.get("/api/auth/sessions", headers=bearer(laptop["access_token"]))).json()
    assert [s["current"] for s in left] == [True]
    # A refreshed sign-in is the same sign-in, used later.
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": laptop["refresh_token"]}
    )
    after = (
        await client.get("/api/auth/sessions", headers=bearer(refreshed.json()["access_token"]))
    ).json()
    assert [s["id"] for s in after] == [left[0]["id"]]
    assert after[0]["last_used_at"] > left[0]["last_used_at"]
    assert after[0]["current"] is True


async def test_ending_this_sign_in_refuses_its_own_token(client: httpx.AsyncClient) -> None:
    signed_in = await sign_up(client)
    [this] = (
        await client.get("/api/auth/sessions", headers=bearer(signed_in["access_token"]))
    ).json()
    ended = await client.delete(
        f"/api/auth/sessions/{this['id']}", headers=bearer(signed_in["access_token"])
    )
    assert ended.status_code == 204
    assert await works(client, signed_in["access_token"]) == 401


# --- the service's own page ---------------------------------------------------------------------


async def test_the_services_own_page_resets_the_password_without_javascript(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    app = make_app(smtp_url=box.url, public_url="http://tasks.test", **QUIET)
    async with client_for(app) as client:
        email = unique_email()
        signed_in = await sign_up(client, email)
        assert (await forgot(client, email)).status_code == 202
        [message] = await mail_to(box, email)
        assert message["Message-ID"].endswith("@tasks.test>")
        token = link_token(message, "reset-password")
        assert f"http://tasks.test/account/reset-password?token={token}" in body_of(message)

        shown = await client.get("/account/reset-password", params={"token": token})
        assert shown.status_code == 200
        assert shown.headers["content-type"].startswith("text/html")
        assert shown.headers["x-frame-options"] == "DENY"
        assert "<script" not in shown.text
        assert 'name="password"' in shown.text
        assert (await log_in(client, email)).status_code == 200  # opening it changed nothing

        short = await client.post("/account/reset-password", data={"token": token, "password": "x"})
        assert short.status_code == 400
        done = await client.post(
            "/account/reset-password", data={"token": token, "password": NEW_PASSWORD}
        )
        assert done.status_code == 200
        assert "Your password is changed" in done.text
        assert (await log_in(client, email, NEW_PASSWORD)).status_code == 200
        assert await works(client, signed_in["access_token"]) == 401
        used = await client.post(
            "/account/reset-password", data={"token": token, "password": "one more password"}
        )
        assert used.status_code == 400
        assert "does not work" in used.text


async def test_a_reset_link_speaks_the_accounts_language_else_the_requests(
    client: httpx.AsyncClient, box: Mailbox
) -> None:
    german, dutch, unknown = unique_email(), unique_email(), unique_email()
    signed_in = await sign_up(client, german)
    await sign_up(client, dutch)
    changed = await client.patch(
        "/api/auth/me", json={"language": "de"}, headers=bearer(signed_in["access_token"])
    )
    assert changed.status_code == 200, changed.text
    nl = {"Accept-Language": "nl"}
    for email in (unknown, german, dutch):
        answer = await client.post("/api/auth/password/forgot", json={"email": email}, headers=nl)
        assert answer.status_code == 202, answer.text
    [in_german] = await mail_to(box, german)  # the account's setting before the browser's
    assert in_german["Subject"] == "Passwort zurücksetzen · Tasks"
    assert "Wähle hier ein neues Passwort" in body_of(in_german)
    [in_dutch] = await mail_to(box, dutch)  # no setting: the request's language
    assert in_dutch["Subject"] == "Stel je wachtwoord opnieuw in · Tasks"
    assert "Kies hier een nieuw wachtwoord" in body_of(in_dutch)
    assert (await reset(client, link_token(in_dutch, "reset-password"))).status_code == 204
    assert to(box, unknown) == []  # an address of no account is sent nothing, in any language
