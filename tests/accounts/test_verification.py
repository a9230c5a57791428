"""Email verification (EMAIL_VERIFICATION=off|optional|required) and a change of email,
through HTTP on both databases, with a real SMTP server catching the emails: `me` says
`email_verified`, a link confirms it once, `required` signs nobody in before it (and answers
registering a taken email as it answers a new one), resend answers the same for any email, and
a new email becomes the account's once the link sent to it is followed."""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.accounts.helpers import (
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
from tests.accounts.test_browser_sign_ins import BASE as PAGE_BASE
from tests.accounts.test_browser_sign_ins import (
    asked_to_sign_in_again,
    on_the_page,
    signed_in_on_the_page,
)
from tests.oauth.helpers import form_fields
from tests.reminders.smtp import Mailbox
from tests.support import app_factory, assert_error, client_for, validation_details
from todo_api.config import Settings


@pytest.fixture
async def make_app(settings: Settings, tmp_path: Path) -> AsyncIterator[Callable[..., FastAPI]]:
    assert settings.database_url is not None
    async with app_factory(settings.database_url, tmp_path) as make:
        yield make


def client_of(make_app: Callable[..., FastAPI], box: Mailbox, **settings: Any) -> httpx.AsyncClient:
    return client_for(make_app(smtp_url=box.url, account_url_template=TEMPLATE, **settings))


async def me(client: httpx.AsyncClient, access_token: str) -> dict[str, Any]:
    response = await client.get("/api/auth/me", headers=bearer(access_token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def verify(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/auth/email/verify", json={"token": token})


def test_verification_is_optional_with_smtp_and_off_without(box: Mailbox) -> None:
    def mode(**values: Any) -> str:
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        return settings.email_verification_mode

    assert mode() == "off"
    assert mode(smtp_url=box.url, public_url="http://tasks.test") == "optional"
    assert mode(smtp_url=box.url, account_url_template=TEMPLATE, email_verification="off") == "off"
    with pytest.raises(ValueError, match="SMTP_URL"):
        mode(email_verification="required")


async def test_optional_registering_signs_in_and_sends_a_link_that_verifies_once(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    async with client_of(make_app, box) as client:
        email = unique_email()
        signed_in = await sign_up(client, email)
        assert (await me(client, signed_in["access_token"]))["email_verified"] is False
        [message] = await mail_to(box, email)
        assert message["Subject"] == "Confirm your email · Tasks"
        token = link_token(message, "verify-email")
        assert f"https://app.example.com/account/verify-email?token={token}" in body_of(message)
        verified = await verify(client, token)
        assert verified.status_code == 200, verified.text
        assert verified.json()["email_verified"] is True
        assert verified.json()["email"] == email
        assert (await me(client, signed_in["access_token"]))["email_verified"] is True
        assert validation_details(await verify(client, token))[0]["field"] == "token"


async def test_required_signs_nobody_in_before_the_email_is_confirmed(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    async with client_of(make_app, box, email_verification="required") as client:
        email = unique_email()
        registered = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 202, registered.text
        assert registered.json() == {"verification": "sent"}
        assert_error(await log_in(client, email), 403, "EMAIL_NOT_VERIFIED")
        # A wrong password says nothing about the email.
        assert_error(await log_in(client, email, "not the password"), 401, "INVALID_CREDENTIALS")
        form = await client.post("/api/auth/token", data={"username": email, "password": PASSWORD})
        assert_error(form, 403, "EMAIL_NOT_VERIFIED")
        [message] = await mail_to(box, email)
        assert (await verify(client, link_token(message, "verify-email"))).status_code == 200
        assert (await log_in(client, email)).status_code == 200


async def test_required_registering_a_taken_email_answers_as_a_new_one(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    async with client_of(make_app, box, email_verification="required") as client:
        taken, new = unique_email(), unique_email()
        first = await client.post("/api/auth/register", json={"email": taken, "password": PASSWORD})
        assert first.status_code == 202
        await mail_to(box, taken)
        answers = [
            await client.post(
                "/api/auth/register", json={"email": email, "password": "another password"}
            )
            for email in (taken, new)
        ]
        varying = {"date", "x-request-id"}
        shapes = [
            (r.status_code, r.content, {k: v for k, v in r.headers.items() if k not in varying})
            for r in answers
        ]
        assert shapes[0] == shapes[1]
        notice = (await mail_to(box, taken, 2))[-1]
        assert notice["Subject"] == "You already have an account · Tasks"
        assert "token=" not in body_of(notice)
        assert_error(await log_in(client, taken, "another password"), 401, "INVALID_CREDENTIALS")
        await mail_to(box, new)


async def test_resend_answers_the_same_for_any_email(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    async with client_of(make_app, box) as client:
        unverified, verified, unknown = unique_email(), unique_email(), unique_email()
        await sign_up(client, unverified)
        await sign_up(client, verified)
        [first] = await mail_to(box, verified)
        assert (await verify(client, link_token(first, "verify-email"))).status_code == 200
        answers = [
            await client.post("/api/auth/email/resend", json={"email": email})
            for email in (unverified, verified, unknown)
        ]
        assert {(r.status_code, r.content) for r in answers} == {(202, b'{"status":"accepted"}')}
        await mail_to(box, unverified, 2)
        await asyncio.sleep(0.5)
        assert len(to(box, verified)) == 1
        assert to(box, unknown) == []


async def test_emails_a_stranger_can_cause_are_capped_per_recipient(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    """At most five an hour to one address across forgot-password, resend and the notice of a
    registration with a taken email; beyond, the same 202 and nothing sent."""
    async with client_of(make_app, box, email_verification="required") as client:
        email, other = unique_email(), unique_email()

        async def register() -> httpx.Response:
            body = {"email": email, "password": "another password"}
            return await client.post("/api/auth/register", json=body)

        async def forgot() -> httpx.Response:
            return await client.post("/api/auth/password/forgot", json={"email": email})

        async def resend() -> httpx.Response:
            return await client.post("/api/auth/email/resend", json={"email": email})

        first = [await ask() for ask in (register, register, forgot, resend, forgot)]
        subjects = [m["Subject"] for m in await mail_to(box, email, 5)]
        confirm, notice, reset = (
            "Confirm your email · Tasks",
            "You already have an account · Tasks",
            "Reset your password · Tasks",
        )
        assert sorted(subjects) == sorted([confirm, notice, reset, confirm, reset])
        beyond = [await ask() for ask in (register, register, forgot, resend, forgot)]
        assert [(r.status_code, r.content) for r in beyond] == [
            (r.status_code, r.content) for r in first
        ]
        assert {r.status_code for r in beyond} == {202}
        await asyncio.sleep(1)
        assert len(to(box, email)) == 5
        # Another address has a cap of its own.
        assert (
            await client.post("/api/auth/register", json={"email": other, "password": PASSWORD})
        ).status_code == 202
        await mail_to(box, other)


async def test_changing_the_email_takes_a_link_to_the_new_one(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    async with client_of(make_app, box) as client:
        old, new = unique_email(), unique_email()
        signed_in = await sign_up(client, old)
        wrong = await client.post(
            "/api/auth/email/change",
            json={"new_email": new, "password": "not the password"},
            headers=bearer(signed_in["access_token"]),
        )
        assert_error(wrong, 401, "INVALID_CREDENTIALS")
        asked = await client.post(
            "/api/auth/email/change",
            json={"new_email": new.upper(), "password": PASSWORD},
            headers=bearer(signed_in["access_token"]),
        )
        assert asked.status_code == 202, asked.text
        [link] = await mail_to(box, new)
        # The old address has its sign-up's verification link and the notice, in either order.
        [notice] = [m for m in await mail_to(box, old, 2) if new in body_of(m)]
        assert "token=" not in body_of(notice)
        assert (await me(client, signed_in["access_token"]))["email"] == old  # not yet

        changed = await client.post(  # confirmed by this sign-in, which stays
            "/api/auth/email/verify",
            json={"token": link_token(link, "verify-email")},
            headers=bearer(signed_in["access_token"]),
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["email"] == new
        assert changed.json()["email_verified"] is True
        # The old access token (whose claim still says the old email) changes nothing back.
        assert (await me(client, signed_in["access_token"]))["email"] == new
        assert (await log_in(client, new)).status_code == 200
        assert_error(await log_in(client, old), 401, "INVALID_CREDENTIALS")


async def test_confirming_a_new_email_uses_up_every_link_to_the_old_one(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    """A reset link sent to the old address before the change stops working once the new one
    is confirmed: whoever reads the old mailbox has no way back in."""
    async with client_of(make_app, box) as client:
        old, new = unique_email(), unique_email()
        signed_in = await sign_up(client, old)
        [verify_old] = await mail_to(box, old)
        forgot = await client.post("/api/auth/password/forgot", json={"email": old})
        assert forgot.status_code == 202
        reset_old = (await mail_to(box, old, 2))[-1]
        asked = await client.post(
            "/api/auth/email/change",
            json={"new_email": new, "password": PASSWORD},
            headers=bearer(signed_in["access_token"]),
        )
        assert asked.status_code == 202, asked.text
        [link] = await mail_to(box, new)
        assert (await verify(client, link_token(link, "verify-email"))).status_code == 200

        reset = await client.post(
            "/api/auth/password/reset",
            json={"token": link_token(reset_old, "reset-password"), "password": "a squatter's one"},
        )
        assert validation_details(reset)[0]["field"] == "token"
        stale = await verify(client, link_token(verify_old, "verify-email"))
        assert validation_details(stale)[0]["field"] == "token"
        assert (await log_in(client, new)).status_code == 200


async def test_a_new_email_taken_by_then_is_a_conflict(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    async with client_of(make_app, box) as client:
        old, wanted = unique_email(), unique_email()
        signed_in = await sign_up(client, old)
        asked = await client.post(
            "/api/auth/email/change",
            json={"new_email": wanted, "password": PASSWORD},
            headers=bearer(signed_in["access_token"]),
        )
        assert asked.status_code == 202
        link = next(
            m for m in await mail_to(box, wanted) if m["Subject"] == "Confirm your email · Tasks"
        )
        await sign_up(client, wanted)  # someone registers it meanwhile
        assert_error(await verify(client, link_token(link, "verify-email")), 409, "CONFLICT")
        assert (await me(client, signed_in["access_token"]))["email"] == old


async def test_without_smtp_there_is_no_verification(anonymous: httpx.AsyncClient) -> None:
    signed_in = await sign_up(anonymous)
    assert (await me(anonymous, signed_in["access_token"]))["email_verified"] is False
    resend = await anonymous.post("/api/auth/email/resend", json={"email": unique_email()})
    assert_error(resend, 503, "EMAIL_UNAVAILABLE")
    change = await anonymous.post(
        "/api/auth/email/change",
        json={"new_email": unique_email(), "password": PASSWORD},
        headers=bearer(signed_in["access_token"]),
    )
    assert_error(change, 503, "EMAIL_UNAVAILABLE")


async def test_the_services_own_page_confirms_the_email_on_a_click(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    app = make_app(smtp_url=box.url, public_url="http://tasks.test")
    async with client_for(app) as client:
        email = unique_email()
        signed_in = await sign_up(client, email)
        [message] = await mail_to(box, email)
        token = link_token(message, "verify-email")
        shown = await client.get("/account/verify-email", params={"token": token})
        assert shown.status_code == 200
        assert "<script" not in shown.text
        assert (await me(client, signed_in["access_token"]))["email_verified"] is False
        done = await client.post("/account/verify-email", data={"token": token})
        assert done.status_code == 200
        assert email in done.text
        assert (await me(client, signed_in["access_token"]))["email_verified"] is True
        again = await client.post("/account/verify-email", data={"token": token})
        assert again.status_code == 400


# --- in the recipient's language ---------------------------------------------------------------


async def test_the_links_speak_the_accounts_language_else_the_requests_else_english(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    async with client_of(make_app, box) as client:
        email, dutch = unique_email(), unique_email()
        signed_in = await sign_up(client, email)
        [english] = await mail_to(box, email)  # no setting, no Accept-Language: English
        assert english["Subject"] == "Confirm your email · Tasks"
        assert body_of(english).startswith("Open this link to confirm this email for your account")

        set_language = await client.patch(
            "/api/auth/me", json={"language": "de"}, headers=bearer(signed_in["access_token"])
        )
        assert set_language.status_code == 200, set_language.text
        resent = await client.post(
            "/api/auth/email/resend", json={"email": email}, headers={"Accept-Language": "fr"}
        )
        assert resent.status_code == 202, resent.text
        german = (await mail_to(box, email, 2))[-1]  # the setting before the browser's
        assert german["Subject"] == "Bestätige deine E-Mail-Adresse · Tasks"
        assert body_of(german).startswith("Öffne diesen Link, um diese E-Mail-Adresse für dein")
        assert (await verify(client, link_token(german, "verify-email"))).status_code == 200

        # No setting: the language of the request that registered (its first of ours).
        await sign_up(client, dutch, **{"Accept-Language": "xx, nl-BE;q=0.9, en;q=0.5"})
        [message] = await mail_to(box, dutch)
        assert message["Subject"] == "Bevestig je e-mailadres · Tasks"
        assert body_of(message).startswith("Open deze link om dit e-mailadres voor je account")


async def test_a_change_of_email_is_told_in_the_accounts_language(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    async with client_of(make_app, box, email_verification="off") as client:
        old, new = unique_email(), unique_email()
        signed_in = await sign_up(client, old)
        await client.patch(
            "/api/auth/me", json={"language": "de"}, headers=bearer(signed_in["access_token"])
        )
        asked = await client.post(
            "/api/auth/email/change",
            json={"new_email": new, "password": PASSWORD},
            headers=bearer(signed_in["access_token"]),
        )
        assert asked.status_code == 202, asked.text
        [link] = await mail_to(box, new)
        [notice] = await mail_to(box, old)
    assert link["Subject"] == "Bestätige deine E-Mail-Adresse · Tasks"
    assert "um diese Adresse zur E-Mail-Adresse deines Kontos zu machen" in body_of(link)
    assert notice["Subject"] == "Die E-Mail-Adresse deines Kontos wird geändert · Tasks"
    assert f"in {new} zu ändern." in body_of(notice)  # the address in its place in the sentence


async def test_a_sign_up_notice_speaks_the_language_of_the_request_that_caused_it(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    async with client_of(make_app, box, email_verification="required") as client:
        taken = unique_email()
        body = {"email": taken, "password": PASSWORD}
        assert (await client.post("/api/auth/register", json=body)).status_code == 202
        await mail_to(box, taken)
        again = await client.post(
            "/api/auth/register",
            json={**body, "password": "another password"},
            headers={"Accept-Language": "nl"},
        )
        assert again.status_code == 202, again.text
        notice = (await mail_to(box, taken, 2))[-1]
    assert notice["Subject"] == "Je hebt al een account · Tasks"
    assert body_of(notice).startswith("Iemand heeft geprobeerd een account te maken")


# --- a new address ends the other sign-ins -------------------------------------------------------


async def web_app_signed_in(browser: httpx.AsyncClient, email: str) -> None:
    page = await browser.get("/app/signin")
    signed_in = await browser.post(
        "/app/signin", data={**form_fields(page.text), "email": email, "password": PASSWORD}
    )
    assert signed_in.status_code == 303, signed_in.text
    assert (await browser.get("/app/")).status_code == 200


async def web_app_asks_to_sign_in_again(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/app/")
    assert page.status_code == 401, page.text
    assert "Your sign-in has ended. Sign in again." in page.text


async def change_link(client: httpx.AsyncClient, box: Mailbox, access_token: str, new: str) -> str:
    asked = await client.post(
        "/api/auth/email/change",
        json={"new_email": new, "password": PASSWORD},
        headers=bearer(access_token),
    )
    assert asked.status_code == 202, asked.text
    [link] = await mail_to(box, new)
    return link_token(link, "verify-email")


async def test_confirming_a_new_email_ends_every_other_sign_in(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    """Through the API with the confirming sign-in's token: that one stays; another API
    sign-in, the web app's and the OAuth page's end, on every process."""
    app = make_app(smtp_url=box.url, account_url_template=TEMPLATE, public_url=PAGE_BASE)
    other_process = make_app(smtp_url=box.url, account_url_template=TEMPLATE, public_url=PAGE_BASE)
    async with (
        client_for(app) as client,
        client_for(other_process) as elsewhere,
        client_for(app) as browser,
        on_the_page(app) as page,
    ):
        old, new = unique_email(), unique_email()
        confirming = await sign_up(client, old)
        other = (await log_in(client, old)).json()
        await web_app_signed_in(browser, old)
        await signed_in_on_the_page(page, old)
        assert (await me(elsewhere, other["access_token"]))["email"] == old  # known there
        token = await change_link(client, box, confirming["access_token"], new)

        changed = await client.post(
            "/api/auth/email/verify",
            json={"token": token},
            headers=bearer(confirming["access_token"]),
        )
        assert changed.status_code == 200, changed.text
        assert (await me(client, confirming["access_token"]))["email"] == new
        for on in (client, elsewhere):
            refused = await on.get("/api/auth/me", headers=bearer(other["access_token"]))
            assert_error(refused, 401, "INVALID_TOKEN")
        refreshed = await client.post(
            "/api/auth/refresh", json={"refresh_token": other["refresh_token"]}
        )
        assert refreshed.status_code == 401, refreshed.text
        await web_app_asks_to_sign_in_again(browser)
        await asked_to_sign_in_again(page)
        listed = await client.get("/api/auth/sessions", headers=bearer(confirming["access_token"]))
        assert [item["current"] for item in listed.json()] == [True]


async def test_a_new_email_confirmed_without_a_sign_in_ends_them_all(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    """Through the API without a token, and the service's own page: no sign-in confirmed it, so
    none stays (as after a reset)."""
    app = make_app(smtp_url=box.url, account_url_template=TEMPLATE, public_url=PAGE_BASE)
    async with client_for(app) as client:
        for confirm in ("api", "page"):
            old, new = unique_email(), unique_email()
            signed_in = await sign_up(client, old)
            token = await change_link(client, box, signed_in["access_token"], new)
            if confirm == "api":
                changed = await verify(client, token)
            else:
                changed = await client.post("/account/verify-email", data={"token": token})
            assert changed.status_code == 200, changed.text
            refused = await client.get("/api/auth/me", headers=bearer(signed_in["access_token"]))
            assert_error(refused, 401, "INVALID_TOKEN")
            assert (await log_in(client, new)).status_code == 200


async def test_a_new_email_confirmed_on_the_web_app_keeps_its_sign_in(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    app = make_app(smtp_url=box.url, account_url_template=TEMPLATE, public_url=PAGE_BASE)
    async with client_for(app) as client, client_for(app) as browser:
        old, new = unique_email(), unique_email()
        signed_in = await sign_up(client, old)
        await web_app_signed_in(browser, old)
        token = await change_link(client, box, signed_in["access_token"], new)
        shown = await browser.get("/app/verify", params={"token": token})
        confirmed = await browser.post(
            "/app/verify", data={**form_fields(shown.text), "token": token}
        )
        assert confirmed.status_code == 200, confirmed.text
        assert new in confirmed.text
        home = await browser.get("/app/")
        assert home.status_code == 200
        assert new in home.text
        refused = await client.get("/api/auth/me", headers=bearer(signed_in["access_token"]))
        assert_error(refused, 401, "INVALID_TOKEN")
