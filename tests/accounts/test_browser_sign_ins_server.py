"""A browser's sign-in on the OAuth sign-in page across real `todo-api serve` processes on one
database: signed in on the page at one instance, the sign-in ended through the other, the page
at the first refuses the cookie from the next request on (PostgreSQL LISTEN/NOTIFY, Redis
pub/sub, and on SQLite the lookup every request makes without a channel)."""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.accounts.helpers import PASSWORD, bearer, unique_email
from tests.helpers_server import Server, clean_env, free_port, running_server
from tests.oauth.helpers import authorize_url, form_fields, pkce, register_client
from tests.support import TEST_SECRET
from tests.test_instances_server import _redis_or_skip

TIMEOUT = 30.0


@pytest.fixture(params=["sqlite-polling", "postgresql-notify", "redis"])
def instances(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two instances on one database, behind one PUBLIC_URL (the first's address)."""
    port = free_port()
    with ExitStack() as stack:
        env = clean_env(
            JWT_SECRET=TEST_SECRET,
            PUBLIC_URL=f"http://127.0.0.1:{port}",
            AUTH_RATE_LIMIT_ATTEMPTS="100000",
        )
        if request.param == "sqlite-polling":
            env["DATABASE_URL"] = f"sqlite:///{tmp_path}/todo.db"
        else:
            env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
        if request.param == "redis":
            env["REDIS_URL"] = _redis_or_skip()
        servers = []
        for n, at in ((1, port), (2, None)):  # one after the other: the first migrates
            folder = tmp_path / f"instance-{n}"
            folder.mkdir()
            servers.append(stack.enter_context(running_server(folder, env, folder / "log", at)))
        yield servers[0], servers[1]


async def test_a_sign_in_ended_at_one_instance_is_refused_by_the_page_at_the_other(
    instances: tuple[Server, Server],
) -> None:
    one, two = instances
    email = unique_email()
    async with (
        httpx.AsyncClient(base_url=two.url, timeout=TIMEOUT) as on_two,
        httpx.AsyncClient(base_url=one.url, timeout=TIMEOUT) as browser,
    ):
        registered = await on_two.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        access = registered.json()["access_token"]
        client = await register_client(one.url)
        _verifier, challenge = pkce()
        url = authorize_url(one.url, client["client_id"], challenge)
        page = await browser.get(url)
        signin = {**form_fields(page.text), "email": email, "password": PASSWORD}
        consent = await browser.post("/oauth/authorize", data={**signin, "action": "signin"})
        assert f"Signed in as {email}" in consent.text, consent.text
        for _ in range(3):  # looked up once, then kept by that process while it hears
            assert f"Signed in as {email}" in (await browser.get(url)).text

        listed = (await on_two.get("/api/auth/sessions", headers=bearer(access))).json()
        [on_page] = [item for item in listed if not item["current"]]
        ended = await on_two.delete(f"/api/auth/sessions/{on_page['id']}", headers=bearer(access))
        assert ended.status_code == 204, ended.text

        # The cookie the browser still holds: no code, no consent screen.
        allow = await browser.post(
            "/oauth/authorize", data={**form_fields(consent.text), "action": "allow"}
        )
        assert allow.status_code == 200, allow.text
        assert "location" not in allow.headers
        assert "Your sign-in has ended" in allow.text
        assert 'name="password"' in allow.text
        page = await browser.get(url)
        assert page.status_code == 200, page.text
        assert "Signed in as" not in page.text
        assert 'name="password"' in page.text
