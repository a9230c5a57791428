"""The operator's name and icon (APP_NAME, APP_ICON) through HTTP, on both databases: the web
app's header and titles (in any language), its manifest, the emails, the account and OAuth
pages, and the icon in every size made from one PNG (or served as it is from an SVG)."""

import io
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from PIL import Image

from tests.accounts.helpers import PASSWORD, body_of, mail_to, sign_up, unique_email
from tests.oauth.helpers import REDIRECT_URI, authorize_url, form_fields, pkce
from tests.reminders.smtp import Mailbox
from tests.support import app_factory, client_for
from tests.web.test_signin_pages import submit
from todo_api.config import Settings

NAME = "Acme Lists"


@pytest.fixture
async def make_app(
    settings: Settings, tmp_path: Path, box: Mailbox
) -> AsyncIterator[Callable[..., FastAPI]]:
    assert settings.database_url is not None
    async with app_factory(
        settings.database_url,
        tmp_path,
        public_url="http://tasks.test",
        smtp_url=box.url,
        email_verification="off",
    ) as make:
        yield make


def title(html: str) -> str:
    found = re.search(r"<title>([^<]*)</title>", html)
    assert found is not None, html
    return found[1]


def linked(html: str, rel: str) -> str:
    found = re.search(rf'<link rel="{rel}" href="([^"]+)"', html)
    assert found is not None, html
    return found[1]


async def test_the_name_heads_every_page_its_titles_and_the_manifest(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app(app_name=NAME)
    async with client_for(app) as browser, client_for(app) as api:
        signin = await browser.get("/app/signin")
        assert title(signin.text) == f"Sign in · {NAME}"
        assert f'<p class="plain-brand">{NAME}</p>' in signin.text
        german = await browser.get("/app/signin", headers={"Accept-Language": "de"})
        assert title(german.text) == f"Anmelden · {NAME}"

        email = unique_email()
        await sign_up(api, email)
        signed_in = await submit(
            browser, "/app/signin", "/app/signin", email=email, password=PASSWORD
        )
        assert signed_in.status_code == 303, signed_in.text
        inbox = await browser.get("/app/")
        assert inbox.status_code == 200
        assert f'<span class="brand">{NAME}</span>' in inbox.text
        assert title(inbox.text).endswith(f" · {NAME}")
        assert "todo-api" not in title(inbox.text)

        manifest = (await browser.get("/app/manifest.webmanifest")).json()
        assert (manifest["name"], manifest["short_name"]) == (NAME, NAME)

        # The service's own pages (an email's link opened by another client) say it too.
        account_page = await browser.get("/account/reset-password?token=x")
        assert title(account_page.text).endswith(f" · {NAME}")


async def test_without_app_name_the_app_is_tasks_never_the_package(
    make_app: Callable[..., FastAPI],
) -> None:
    async with client_for(make_app()) as browser:
        signin = await browser.get("/app/signin")
        manifest = (await browser.get("/app/manifest.webmanifest")).json()
    assert title(signin.text) == "Sign in · Tasks"
    assert "todo-api" not in signin.text
    assert (manifest["name"], manifest["short_name"]) == ("Tasks", "Tasks")


async def test_an_email_names_the_app_in_its_subject_body_and_sender(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    app = make_app(app_name=NAME)
    async with client_for(app) as api, client_for(app) as browser:
        email = unique_email()
        await sign_up(api, email)
        asked = await submit(browser, "/app/forgot", "/app/forgot", email=email)
        assert asked.status_code == 200, asked.text
        [message] = await mail_to(box, email)
    assert message["Subject"] == f"Reset your password · {NAME}"
    assert body_of(message).endswith(f"\n-- \n{NAME}\n")
    assert message["From"].addresses[0].display_name == NAME
    assert message["From"].addresses[0].addr_spec == "todo-api@localhost"


async def test_every_size_of_the_icon_is_made_from_one_png(
    make_app: Callable[..., FastAPI], tmp_path: Path
) -> None:
    source = tmp_path / "brand.png"
    Image.new("RGBA", (600, 400), (200, 30, 30, 255)).save(source)
    app = make_app(app_icon=str(source))
    async with client_for(app) as browser:
        signin = (await browser.get("/app/signin")).text
        manifest = (await browser.get("/app/manifest.webmanifest")).json()

        async def size_of(url: str) -> tuple[int, int]:
            answer = await browser.get(url)
            assert answer.status_code == 200, url
            assert answer.headers["content-type"] == "image/png"
            assert "immutable" in answer.headers["cache-control"]
            with Image.open(io.BytesIO(answer.content)) as image:
                assert image.format == "PNG"
                return image.size

        assert await size_of(linked(signin, "icon")) == (32, 32)
        assert await size_of(linked(signin, "apple-touch-icon")) == (180, 180)
        icons = manifest["icons"]
        assert [(i["sizes"], i.get("purpose", "any")) for i in icons] == [
            ("192x192", "any"),
            ("512x512", "any"),
            ("512x512", "maskable"),
        ]
        for icon in icons:
            side = int(icon["sizes"].split("x")[0])
            assert await size_of(icon["src"]) == (side, side)
            assert icon["src"].startswith("/app/static/")


async def test_an_svg_icon_is_the_favicon_and_the_manifests_any_size(
    make_app: Callable[..., FastAPI], tmp_path: Path
) -> None:
    source = tmp_path / "brand.svg"
    svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1"/></svg>'
    source.write_text(svg)
    async with client_for(make_app(app_icon=str(source))) as browser:
        signin = (await browser.get("/app/signin")).text
        manifest = (await browser.get("/app/manifest.webmanifest")).json()
        favicon = await browser.get(linked(signin, "icon"))
    assert favicon.text == svg
    assert favicon.headers["content-type"].startswith("image/svg+xml")
    assert 'rel="apple-touch-icon"' not in signin
    assert manifest["icons"] == [
        {"src": linked(signin, "icon"), "sizes": "any", "type": "image/svg+xml"}
    ]


async def test_the_oauth_consent_page_and_the_mcp_metadata_name_the_app(
    make_app: Callable[..., FastAPI],
) -> None:
    base = "http://tasks.test"
    app = make_app(app_name=NAME)
    async with client_for(app) as client:
        email = unique_email()
        await sign_up(client, email)
        registered = await client.post(
            f"{base}/oauth/register",
            json={"client_name": "Test app", "redirect_uris": [REDIRECT_URI]},
        )
        assert registered.status_code == 201, registered.text
        _, challenge = pkce()
        page = await client.get(authorize_url(base, registered.json()["client_id"], challenge))
        assert title(page.text) == f"Sign in · {NAME}"
        signin = {**form_fields(page.text), "email": email, "password": PASSWORD}
        consent = await client.post(f"{base}/oauth/authorize", data={**signin, "action": "signin"})
        assert f"wants to read and change your tasks in {NAME}." in consent.text
        assert title(consent.text) == f"Allow access · {NAME}"
        metadata = await client.get(f"{base}/.well-known/oauth-protected-resource")
    assert metadata.json()["resource_name"] == NAME
