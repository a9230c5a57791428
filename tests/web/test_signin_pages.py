"""The web app's sign-up, forgot and reset password and email confirmation pages through HTTP
(the forms a browser without JavaScript posts), on both databases: REGISTRATION's three
modes, an invitation link joining its list, the emails' links leading a browser to the pages,
the same answer whatever the email, the API's limits, and forms from elsewhere refused."""

import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pyotp
import pytest
from fastapi import FastAPI

from tests.accounts.helpers import (
    PASSWORD,
    bearer,
    body_of,
    link_token,
    log_in,
    mail_to,
    sign_up,
    to,
    unique_email,
)
from tests.accounts.test_oidc import PUBLIC_URL as OIDC_PUBLIC_URL
from tests.accounts.test_oidc import issuer, sign_in_at_provider, signing_in_at, with_two_factor
from tests.lists.sharing import invite
from tests.reminders.smtp import Mailbox
from tests.support import app_factory, client_for
from todo_api.config import Settings

PUBLIC_URL = "http://tasks.test"
__all__ = ["issuer"]  # the test OpenID provider (a fixture)
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def make_app(
    settings: Settings, tmp_path: Path, box: Mailbox
) -> AsyncIterator[Callable[..., FastAPI]]:
    assert settings.database_url is not None
    async with app_factory(
        settings.database_url, tmp_path, public_url=PUBLIC_URL, smtp_url=box.url
    ) as make:
        yield make


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found[1]


async def submit(
    browser: httpx.AsyncClient, page: str, target: str, **fields: str
) -> httpx.Response:
    """Open `page` and post a form to `target` with `fields` (and the page's CSRF token)."""
    shown = await browser.get(page)
    assert shown.status_code == 200, shown.text
    return await browser.post(target, data={"csrf_token": token_of(shown.text), **fields})


def alert(html: str) -> str:
    found = re.search(r'role="alert">([^<]*)<', html)
    assert found is not None, html
    return found[1]


async def test_sign_up_signs_in_and_keeps_the_apis_rules(make_app: Callable[..., FastAPI]) -> None:
    app = make_app(email_verification="off")
    async with client_for(app) as browser, client_for(app) as api:
        signin = await browser.get("/app/signin")
        assert 'href="/app/signup">Create account</a>' in signin.text
        assert 'href="/app/forgot"' in signin.text
        # Passkeys need PUBLIC_URL's host (tasks.test here): the form is there, hidden until
        # its script shows it; no identity provider is configured.
        assert re.search(r'<form [^>]*id="passkey"[^>]* hidden>', signin.text)
        assert "/app/signin/provider" not in signin.text
        # The passkey's options come with the page's form token only; an answer that is not
        # a passkey's is refused as a wrong password is.
        refused = await browser.post("/app/signin/passkey/options", data={"csrf_token": "x"})
        assert refused.status_code == 403
        csrf = token_of(signin.text)
        options = await browser.post("/app/signin/passkey/options", data={"csrf_token": csrf})
        assert options.status_code == 200
        assert options.json()["rpId"] == "tasks.test"
        assert not options.json().get("allowCredentials")
        bogus = await browser.post(
            "/app/signin/passkey", data={"csrf_token": csrf, "credential": '{"id": "x"}'}
        )
        assert bogus.status_code == 401
        assert alert(bogus.text) == "The passkey was not accepted."

        page = await browser.get("/app/signup")
        assert page.status_code == 200
        assert '<button type="submit">Create account</button>' in page.text
        email = unique_email()
        refused = await browser.post(
            "/app/signup", data={"email": email, "password": PASSWORD, "csrf_token": "forged"}
        )
        assert refused.status_code == 403
        assert (await log_in(api, email)).status_code == 401  # nothing was made

        short = await submit(browser, "/app/signup", "/app/signup", email=email, password="short")
        assert short.status_code == 400
        assert "password" in alert(short.text)
        assert f'value="{email}"' in short.text  # what was typed is kept
        assert (await log_in(api, email)).status_code == 401

        made = await submit(
            browser, "/app/signup", "/app/signup", email=email, password=PASSWORD, name="<b>Ada</b>"
        )
        assert made.status_code == 303, made.text
        assert made.headers["location"] == "/app/"
        inbox = await browser.get("/app/")
        assert inbox.status_code == 200
        assert '<span class="who">&lt;b&gt;Ada&lt;/b&gt;</span>' in inbox.text  # the name, as text
        tokens = (await log_in(api, email)).json()
        me = await api.get("/api/auth/me", headers=bearer(tokens["access_token"]))
        assert me.json()["name"] == "<b>Ada</b>"
        # The browser's sign-in is one of the account's (and the API's login the other).
        sessions = await api.get("/api/auth/sessions", headers=bearer(tokens["access_token"]))
        assert len(sessions.json()) == 2

    async with client_for(app) as other:
        again = await submit(other, "/app/signup", "/app/signup", email=email, password=PASSWORD)
        assert again.status_code == 409
        assert (await other.get("/app/")).status_code == 303  # not signed in


async def test_an_invitation_link_opens_the_sign_up_and_joins_its_list(
    make_app: Callable[..., FastAPI],
) -> None:
    # The owner signed up while registration was open; now it takes an invitation.
    async with client_for(make_app(email_verification="off")) as open_api:
        owner = await sign_up(open_api)
    app = make_app(email_verification="off", registration="invite")
    async with client_for(app, owner["access_token"]) as owner_api, client_for(app) as browser:
        made = await owner_api.post("/api/lists", json={"name": "Shared groceries"})
        shared = made.json()["id"]
        token = await invite(owner_api, shared)

        bare = await browser.get("/app/signup")
        assert "Signing up needs an invitation" in bare.text
        assert 'action="/app/signup"' not in bare.text

        page = f"/app/signup?invitation={token}"
        shown = await browser.get(page)
        assert f'name="invitation" value="{token}"' in shown.text
        email = unique_email()
        wrong = await submit(
            browser, page, "/app/signup", email=email, password=PASSWORD, invitation="nope"
        )
        assert wrong.status_code == 403
        assert "invitation is not valid" in alert(wrong.text)
        async with client_for(app) as api:
            assert (await log_in(api, email)).status_code == 401  # no account left behind

            joined = await submit(
                browser, page, "/app/signup", email=email, password=PASSWORD, invitation=token
            )
            assert joined.status_code == 303, joined.text
            assert joined.headers["location"] == f"/app/lists/{shared}"  # its list first
            inbox = await browser.get("/app/")
            assert "Shared groceries" in inbox.text
            tokens = (await log_in(api, email)).json()
            lists = await api.get("/api/lists", headers=bearer(tokens["access_token"]))
        [member_view] = [item for item in lists.json() if item["id"] == shared]
        assert member_view["role"] == "editor"


async def test_closed_registration_shows_no_form_and_refuses_a_post(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app(email_verification="off", registration="closed")
    async with client_for(app) as browser, client_for(app) as api:
        page = await browser.get("/app/signup")
        assert page.status_code == 200
        assert "Registration is closed on this service." in page.text
        assert '<form method="post" action="/app/signup"' not in page.text
        email = unique_email()
        # A form posted anyway (its token from the sign-in page) makes nothing.
        refused = await submit(
            browser, "/app/signin", "/app/signup", email=email, password=PASSWORD
        )
        assert refused.status_code == 403
        assert (await log_in(api, email)).status_code == 401


async def test_forgot_and_reset_answer_alike_for_any_email_and_the_link_leads_to_the_app(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    app = make_app(email_verification="off")
    async with client_for(app) as api, client_for(app) as browser:
        email = unique_email()
        signed_in = await sign_up(api, email)
        stranger = unique_email()
        said = await one_answer(browser, "/app/forgot", (email, stranger))
        assert "a link to choose a new password is on its way" in said
        [message] = await mail_to(box, email)
        token = link_token(message, "reset-password")
        assert not to(box, stranger)

        # The email's link (the API's documented page) sends a browser on to the app's page.
        link = f"/account/reset-password?token={token}"
        followed = await browser.get(link, headers=HTML)
        assert followed.status_code == 303
        assert followed.headers["location"] == f"/app/reset?token={token}"
        assert (await browser.get(link)).status_code == 200  # other clients: the page as before
        page = f"/app/reset?token={token}"
        short = await submit(browser, page, "/app/reset", token=token, password="x")
        assert short.status_code == 400
        assert (await log_in(api, email)).status_code == 200  # nothing changed yet
        done = await submit(browser, page, "/app/reset", token=token, password=NEW_PASSWORD)
        assert done.status_code == 200, done.text
        assert "Your password is changed" in done.text
        assert (await log_in(api, email)).status_code == 401
        assert (await log_in(api, email, NEW_PASSWORD)).status_code == 200
        old = await api.get("/api/auth/me", headers=bearer(signed_in["access_token"]))
        assert old.status_code == 401  # every sign-in ended
        used = await submit(browser, page, "/app/reset", token=token, password="yet another one!")
        assert used.status_code == 400
        assert "This link does not work" in alert(used.text)


@pytest.mark.parametrize("ending", ["reset", "email"])
async def test_a_sign_in_ended_by_a_reset_or_a_new_address_clears_the_browser(
    make_app: Callable[..., FastAPI], box: Mailbox, ending: str
) -> None:
    """A password reset, or a new address confirmed, ends the browser's sign-in elsewhere:
    the first page the browser asks for says so and empties what the device kept of the
    person (the service worker's pages, offline.js's database)."""
    app = make_app(email_verification="off")
    async with client_for(app) as browser, client_for(app) as api:
        email = unique_email()
        await sign_up(api, email)
        signed_in = await submit(
            browser, "/app/signin", "/app/signin", email=email, password=PASSWORD
        )
        assert signed_in.status_code == 303, signed_in.text
        assert (await browser.get("/app/")).status_code == 200
        if ending == "reset":
            assert (
                await api.post("/api/auth/password/forgot", json={"email": email})
            ).status_code == 202
            token = link_token((await mail_to(box, email))[-1], "reset-password")
            body = {"token": token, "password": NEW_PASSWORD}
            assert (await api.post("/api/auth/password/reset", json=body)).status_code == 204
        else:
            session = (await log_in(api, email)).json()["access_token"]
            new = unique_email()
            asked = await api.post(
                "/api/auth/email/change",
                json={"new_email": new, "password": PASSWORD},
                headers=bearer(session),
            )
            assert asked.status_code == 202, asked.text
            token = link_token((await mail_to(box, new))[-1], "verify-email")
            confirmed = await api.post(
                "/api/auth/email/verify", json={"token": token}, headers=bearer(session)
            )
            assert confirmed.status_code == 200, confirmed.text
        page = await browser.get("/app/")
        assert page.status_code == 401
        assert "Your sign-in has ended. Sign in again." in page.text
        assert page.headers["clear-site-data"] == '"cache", "storage"'


async def one_answer(
    browser: httpx.AsyncClient, page: str, emails: tuple[str, str], **fields: str
) -> str:
    """The form of `page` sent for each of two emails: the same page answers both (200), but
    for the email and the form's token; that page."""
    answers = [await submit(browser, page, page, email=who, **fields) for who in emails]
    assert [answer.status_code for answer in answers] == [200, 200]
    said = [
        re.sub(r'name="csrf_token" value="[^"]+"', "", answer.text.replace(who, "EMAIL"))
        for answer, who in zip(answers, emails, strict=True)
    ]
    assert said[0] == said[1]
    return said[0]


async def test_an_email_asked_for_on_a_page_speaks_the_browsers_language(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    app = make_app(email_verification="off")
    async with client_for(app) as api, client_for(app) as browser:
        email = unique_email()
        await sign_up(api, email)  # no language set: the browser's
        browser.headers["Accept-Language"] = "nl-NL,nl;q=0.9"
        asked = await submit(browser, "/app/forgot", "/app/forgot", email=email)
        assert asked.status_code == 200, asked.text
        [message] = await mail_to(box, email)
    assert message["Subject"] == "Stel je wachtwoord opnieuw in · Tasks"
    assert link_token(message, "reset-password")


async def test_under_required_verification_sign_up_says_the_same_and_the_link_confirms(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    app = make_app(email_verification="required")
    async with client_for(app) as api, client_for(app) as browser:
        taken = unique_email()
        async with client_for(make_app(email_verification="off")) as open_api:
            await sign_up(open_api, taken)
        email = unique_email()
        said = await one_answer(browser, "/app/signup", (email, taken), password=PASSWORD)
        assert "Check your email" in said
        assert (await browser.get("/app/")).status_code == 303  # not signed in
        [notice] = await mail_to(box, taken)
        assert "already has one" in body_of(notice)

        signed = await submit(
            browser, "/app/signin", "/app/signin", email=email, password=PASSWORD, action="signin"
        )
        assert signed.status_code == 403
        assert "Confirm your email first" in alert(signed.text)

        [message] = await mail_to(box, email)
        token = link_token(message, "verify-email")
        followed = await browser.get(f"/account/verify-email?token={token}", headers=HTML)
        assert followed.headers["location"] == f"/app/verify?token={token}"
        page = f"/app/verify?token={token}"
        shown = await browser.get(page)
        assert '<button type="submit">Confirm the email</button>' in shown.text
        assert (await log_in(api, email)).status_code == 403  # opening it changed nothing
        forged = await browser.post("/app/verify", data={"token": token, "csrf_token": "x"})
        assert forged.status_code == 403
        confirmed = await submit(browser, page, "/app/verify", token=token)
        assert confirmed.status_code == 200
        assert f"The email {email} is confirmed." in confirmed.text
        assert (await log_in(api, email)).status_code == 200
        again = await submit(browser, page, "/app/verify", token=token)
        assert again.status_code == 400

        signed = await submit(
            browser, "/app/signin", "/app/signin", email=email, password=PASSWORD, action="signin"
        )
        assert signed.status_code == 303


async def test_under_required_verification_an_invited_account_is_in_its_list_once_usable(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    # The invitation link was not sent to the address: it proves nothing of it, so the
    # account waits for its email as any other, and is in the list when it can sign in.
    open_app = make_app(email_verification="off")
    async with client_for(open_app) as open_api:
        owner = await sign_up(open_api)
    async with client_for(open_app, owner["access_token"]) as owner_api:
        shared = (await owner_api.post("/api/lists", json={"name": "Shared"})).json()["id"]
        token = await invite(owner_api, shared)
    app = make_app(email_verification="required")
    async with client_for(app) as browser:
        email = unique_email()
        page = f"/app/signup?invitation={token}"
        said = await submit(
            browser, page, "/app/signup", email=email, password=PASSWORD, invitation=token
        )
        assert "Check your email" in said.text
        async with client_for(app) as api:
            assert (await log_in(api, email)).status_code == 403
            [message] = await mail_to(box, email)
            link = link_token(message, "verify-email")
            confirmed = await submit(
                browser, f"/app/verify?token={link}", "/app/verify", token=link
            )
            assert confirmed.status_code == 200
            tokens = (await log_in(api, email)).json()
            lists = await api.get("/api/lists", headers=bearer(tokens["access_token"]))
        assert shared in [item["id"] for item in lists.json()]


async def test_the_pages_are_limited_as_the_api_is(make_app: Callable[..., FastAPI]) -> None:
    app = make_app(auth_rate_limit_attempts=2, email_verification="off")
    async with client_for(app) as browser:
        email = unique_email()
        statuses = [
            (await submit(browser, "/app/forgot", "/app/forgot", email=email)).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        made = [
            (
                await submit(
                    browser, "/app/signup", "/app/signup", email=unique_email(), password="short"
                )
            ).status_code
            for _ in range(3)
        ]
        assert made == [400, 400, 400]  # refused before counting: the form was wrong
        made = [
            (
                await submit(
                    browser, "/app/signup", "/app/signup", email=unique_email(), password=PASSWORD
                )
            ).status_code
            for _ in range(3)
        ]
        assert made == [303, 303, 429]
        resets = [
            (
                await submit(browser, "/app/forgot", "/app/reset", token="t", password=PASSWORD)
            ).status_code
            for _ in range(3)
        ]
        assert resets == [400, 400, 429]


async def test_the_provider_return_refuses_a_code_from_another_browser(
    make_app: Callable[..., FastAPI],
) -> None:
    async with client_for(make_app()) as browser:
        back = await browser.get("/app/signin/provider", params={"code": "x", "state": "forged"})
        assert back.status_code == 403
        assert "started in another browser" in alert(back.text)


async def test_the_identity_provider_signs_in_and_asks_for_the_second_factor(
    settings: Settings, tmp_path: Path, issuer: str
) -> None:
    """An account with two-factor on, opened by the provider: the code page, then the inbox."""
    assert settings.database_url is not None
    async with app_factory(
        settings.database_url, tmp_path, **signing_in_at(issuer), email_verification="off"
    ) as make:
        app = make()
        ada, _account, secret = await with_two_factor(app)
        async with client_for(app) as browser:
            signin = await browser.get("/app/signin")
            assert "Sign in with Example SSO</a>" in signin.text
            started = await browser.get("/app/signin/provider/start")
            assert started.status_code == 303
            callback = await sign_in_at_provider(started.headers["location"], ada)
            back = await browser.get(callback.removeprefix(OIDC_PUBLIC_URL))
            assert back.status_code == 302, back.text
            landing = back.headers["location"].removeprefix(OIDC_PUBLIC_URL)
            assert landing.startswith("/app/signin/provider?state=")
            # Another browser given the link (someone else's code) is signed in as nobody.
            async with client_for(app) as stranger:
                assert (await stranger.get(landing)).status_code == 403
            asked = await browser.get(landing)
            assert asked.status_code == 200, asked.text
            assert 'name="mfa_token"' in asked.text
            assert (await browser.get("/app/")).status_code == 303  # not yet
            code = pyotp.TOTP(secret).at(time.time() + 30)  # the enabling code's step is spent
            fields = {"action": "code", "mfa_token": form_value(asked.text, "mfa_token")}
            done = await browser.post(
                "/app/signin", data={"csrf_token": token_of(asked.text), "code": code, **fields}
            )
            assert done.status_code == 303, done.text
            inbox = await browser.get("/app/")
            assert inbox.status_code == 200
            assert ada.email in inbox.text


def form_value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found is not None, html
    return found[1]
