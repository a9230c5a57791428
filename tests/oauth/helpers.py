"""Driving the OAuth authorization server as a browser and an app would, over HTTP."""

import base64
import hashlib
import secrets
import time
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pyotp

TIMEOUT = 30.0
PASSWORD = "correct horse battery staple"
REDIRECT_URI = "http://127.0.0.1:1/callback"


class _Form(HTMLParser):
    """The fields of the page's form: hidden inputs, with their values."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[values["name"] or ""] = values.get("value") or ""


def form_fields(html: str) -> dict[str, str]:
    parser = _Form()
    parser.feed(html)
    return parser.fields


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


async def register_user(base: str, email: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as http:
        response = await http.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD, "name": "Ada"}
        )
        assert response.status_code == 201, response.text


async def allow(
    authorize_url: str, email: str, action: str = "allow", password: str = PASSWORD
) -> str:
    """Sign in on the page and press `action` (allow or deny), as a browser without JavaScript
    would; the redirect's Location."""
    async with httpx.AsyncClient(timeout=TIMEOUT) as browser:  # keeps the page's cookies
        page = await browser.get(authorize_url)
        assert page.status_code == 200, page.text
        assert 'name="password"' in page.text
        target = authorize_url.split("?")[0]
        signin = {**form_fields(page.text), "email": email, "password": password}
        page = await browser.post(target, data={**signin, "action": "signin"})
        assert page.status_code == 200, page.text
        assert "Allow" in page.text
        done = await browser.post(target, data={**form_fields(page.text), "action": action})
        assert done.status_code == 303, done.text
        return done.headers["location"]


async def register_client(base: str, **metadata: Any) -> dict[str, Any]:
    body = {
        "client_name": "Test app",
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        **metadata,
    }
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as http:
        response = await http.post("/oauth/register", json=body)
    assert response.status_code == 201, response.text
    client: dict[str, Any] = response.json()
    return client


def authorize_url(base: str, client_id: str, challenge: str | None, **params: str) -> str:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "state": "some-state",
        "scope": "tasks:read tasks:write",
        "resource": f"{base}/mcp",
        **({"code_challenge": challenge, "code_challenge_method": "S256"} if challenge else {}),
        **params,
    }
    return f"{base}/oauth/authorize?{urlencode(query)}"


async def connect(
    base: str, email: str, scope: str = "tasks:read tasks:write"
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A public client registered, allowed by `email`'s user, and its first tokens; with the
    code they came from."""
    client = await register_client(base)
    verifier, challenge = pkce()
    location = await allow(authorize_url(base, client["client_id"], challenge, scope=scope), email)
    code = query_of(location)["code"]
    tokens = await exchange(base, client["client_id"], code, verifier)
    assert tokens.status_code == 200, tokens.text
    return client, {**tokens.json(), "verifier": verifier}, code


async def exchange(
    base: str, client_id: str, code: str, verifier: str, redirect_uri: str = REDIRECT_URI
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as http:
        return await http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "code_verifier": verifier,
                "resource": f"{base}/mcp",
            },
        )


async def refresh(
    base: str, client_id: str, refresh_token: str, secret: str | None = None
) -> httpx.Response:
    """A refresh at /oauth/token (with a secret: client_secret_basic)."""
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as http:
        return await http.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": client_id,
            },
            auth=(client_id, secret) if secret else None,
        )


async def connect_in_process(
    client: httpx.AsyncClient,
    base: str,
    email: str,
    scope: str = "tasks:read tasks:write",
    totp_secret: str | None = None,
) -> dict[str, Any]:
    """As `connect`, through `client` (an app in process whose PUBLIC_URL is `base`): a public
    client allowed by `email`'s user on the page (with a code of `totp_secret` when two-factor
    sign-in is on: the next step's, the current one may be used); its client id and first
    tokens."""
    registered = await client.post(
        f"{base}/oauth/register",
        json={
            "client_name": "Test app",
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
        },
    )
    assert registered.status_code == 201, registered.text
    client_id = registered.json()["client_id"]
    verifier, challenge = pkce()
    page = await client.get(authorize_url(base, client_id, challenge, scope=scope))
    target = f"{base}/oauth/authorize"
    signin = {**form_fields(page.text), "email": email, "password": PASSWORD}
    page = await client.post(target, data={**signin, "action": "signin"})
    if totp_secret is not None:
        code = pyotp.TOTP(totp_secret).at(time.time() + 30)
        page = await client.post(
            target, data={**form_fields(page.text), "code": code, "action": "code"}
        )
    assert "Allow" in page.text, page.text
    done = await client.post(target, data={**form_fields(page.text), "action": "allow"})
    tokens = await client.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": query_of(done.headers["location"])["code"],
            "redirect_uri": REDIRECT_URI,
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )
    assert tokens.status_code == 200, tokens.text
    return {"client_id": client_id, **tokens.json()}


async def refresh_in_process(
    client: httpx.AsyncClient, connected: dict[str, Any]
) -> httpx.Response:
    """A refresh of the tokens `connect_in_process` gave (a public client's), through `client`."""
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": connected["refresh_token"],
            "client_id": connected["client_id"],
        },
    )
