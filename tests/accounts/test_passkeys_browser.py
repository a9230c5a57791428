"""A real passkey in a real browser: Debian's chromium, headless, with a virtual authenticator
of its own (the DevTools protocol's WebAuthn domain: CTAP2, internal, resident keys, user
verification) on a page served by the test at http://localhost (a secure context, as WebAuthn
needs; the relying party is `localhost`). The page calls the API as a frontend does: it takes
the creation options, runs navigator.credentials.create() and posts the result; then it signs
in with navigator.credentials.get() and no email (a discoverable credential); the same
assertion posted again is refused. Then the OAuth sign-in page of an app connecting: "Sign in
with a passkey" there, and the app gets its code. On both databases. Skipped when chromium is
not installed, unless CI=true (scripts/setup-ci.sh installs it there)."""

import json
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

from tests.accounts.test_accounts import PASSWORD, unique_email
from tests.browser import VIRTUAL_AUTHENTICATOR, require_chromium
from tests.live_helpers import free_port, serving
from tests.oauth.helpers import authorize_url, exchange, pkce, query_of, register_client
from tests.oauth.test_oauth_browser import Callback, DevTools, chromium_page
from tests.support import app_for, make_settings
from tests.test_live_browser import page_site
from todo_api.config import Settings

require_chromium()

# Each function answers what the API answered ({status, body}), and the credential it sent.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>passkeys</title></head><body>
<script>
async function call(url, body, token) {
  const headers = {"Content-Type": "application/json"};
  if (token) headers["Authorization"] = "Bearer " + token;
  const answer = await fetch(url, {method: "POST", headers, body: JSON.stringify(body || {})});
  return {status: answer.status, body: await answer.json()};
}
async function register(api, token) {
  const options = await call(api + "/api/auth/passkeys/register/options", null, token);
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.body);
  const credential = (await navigator.credentials.create({publicKey})).toJSON();
  const answer = await call(
    api + "/api/auth/passkeys/register", {name: "This browser", credential}, token);
  return {options: options.body, answer, credential};
}
async function signIn(api) {
  const options = await call(api + "/api/auth/passkeys/login/options");
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.body);
  const credential = (await navigator.credentials.get({publicKey})).toJSON();
  const answer = await call(api + "/api/auth/passkeys/login", {credential});
  return {options: options.body, answer, credential};
}
async function replay(api, credential) {
  return call(api + "/api/auth/passkeys/login", {credential});
}
</script></body></html>
"""


async def run(page: DevTools, expression: str) -> Any:
    """The value of an expression that gives a promise, once settled (failing on a throw)."""
    result = await page.send(
        "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
    )
    assert "exceptionDetails" not in result, result
    return result["result"].get("value")


async def test_a_passkey_made_in_chromium_signs_in_and_its_replay_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    callback = Callback()
    with page_site(PAGE) as site:
        site_url = site.url.replace("127.0.0.1", "localhost")
        port = free_port()
        api = f"http://localhost:{port}"
        own = make_settings(
            settings.database_url or "",
            tmp_path / "data",
            public_url=api,
            frontend_url=[site_url],
        )
        async with app_for(own) as app, serving(app, port):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                email = unique_email()
                registered = await client.post(
                    "/api/auth/register", json={"email": email, "password": PASSWORD}
                )
                assert registered.status_code == 201, registered.text
                account = registered.json()
            async with (
                chromium_page(tmp_path / "profile") as websocket,
                connect(websocket, max_size=None) as socket,
            ):
                page = DevTools(socket)
                await page.send("Page.enable")
                await page.send("WebAuthn.enable")
                authenticator = await page.send(
                    "WebAuthn.addVirtualAuthenticator",
                    options=VIRTUAL_AUTHENTICATOR,
                )
                await page.send("Page.navigate", url=f"{site_url}/")
                await page.loaded()
                made = await run(
                    page, f"register({json.dumps(api)}, {json.dumps(account['access_token'])})"
                )
                assert made["answer"]["status"] == 201, made
                assert made["answer"]["body"]["name"] == "This browser"
                held = await page.send(
                    "WebAuthn.getCredentials", authenticatorId=authenticator["authenticatorId"]
                )
                [credential] = held["credentials"]
                assert credential["isResidentCredential"] is True
                assert credential["rpId"] == "localhost"

                signed = await run(page, f"signIn({json.dumps(api)})")
                assert signed["answer"]["status"] == 200, signed
                assert signed["answer"]["body"]["user"] == account["user"]
                assert not signed["options"].get("allowCredentials")
                assert signed["credential"]["id"] == made["credential"]["id"]
                # The user handle names the account: nothing was typed.
                assert signed["credential"]["response"]["userHandle"]

                replayed = await run(
                    page, f"replay({json.dumps(api)}, {json.dumps(signed['credential'])})"
                )
                assert replayed["status"] == 401, replayed
                assert replayed["body"]["code"] == "INVALID_CREDENTIALS"

                again = await run(page, f"signIn({json.dumps(api)})")
                assert again["answer"]["status"] == 200, again

                # An app connecting: its sign-in page offers the passkey, then asks consent.
                app_client = await register_client(api, redirect_uris=[callback.url])
                verifier, challenge = pkce()
                url = authorize_url(
                    api, app_client["client_id"], challenge, redirect_uri=callback.url
                )
                await page.send("Page.navigate", url=url)
                await page.loaded()
                assert await page.evaluate("document.title") == "Sign in · Tasks"
                await page.evaluate("document.getElementById('passkey-button').click();")
                await page.loaded()
                heading = await page.evaluate("document.querySelector('h1').textContent")
                assert heading == "Connect Test app?"
                await page.evaluate("document.querySelector('button[value=allow]').click();")
                await page.loaded()
                landed = await page.evaluate("location.href")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                me = await client.get(
                    "/api/auth/me",
                    headers={"Authorization": f"Bearer {again['answer']['body']['access_token']}"},
                )
                assert me.status_code == 200, me.text
                assert me.json()["email"] == email
                listed = await client.get(
                    "/api/auth/passkeys",
                    headers={"Authorization": f"Bearer {account['access_token']}"},
                )
                [passkey] = listed.json()
                assert passkey["last_used_at"] is not None
            assert landed.startswith(callback.url + "?")
            answer = query_of(callback.queries[0])
            tokens = await exchange(
                api, app_client["client_id"], answer["code"], verifier, callback.url
            )
            assert tokens.status_code == 200, tokens.text
    callback.stop()
