"""A reset and a change of password across real `todo-api serve` processes on one database:
the access tokens issued before it are refused by the next request to the other process, and
the streams they opened there end within 5 s (PostgreSQL LISTEN/NOTIFY, Redis pub/sub, and on
SQLite the polling that needs no channel). A reset of an account whose email was not verified
refuses, at the other process, the personal and app tokens it had looked up and kept. The
emails go to a real SMTP server."""

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from tests.accounts.helpers import (
    NEW_PASSWORD,
    PASSWORD,
    TEMPLATE,
    bearer,
    link_token,
    mail_to,
    unique_email,
)
from tests.helpers_server import Server, clean_env, free_port, running_server
from tests.live_helpers import ended, open_stream
from tests.oauth.helpers import connect
from tests.oauth.test_oauth_server import mcp_status
from tests.reminders.smtp import Mailbox, mailbox
from tests.support import TEST_SECRET
from tests.test_instances_server import _redis_or_skip

# The contract's bound for streams to end, on every instance.
STREAMS_END_WITHIN_SECONDS = 5.0
TIMEOUT = 30.0


# One pair per database for the module: each test has accounts of its own (unique emails), and
# starting two `todo-api serve` processes costs seconds of CPU.
@pytest.fixture(params=["sqlite-polling", "postgresql-notify", "redis"], scope="module")
def instances(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server, Mailbox]]:
    tmp_path = tmp_path_factory.mktemp("instances")
    with mailbox() as box, ExitStack() as stack:
        port = free_port()  # the first instance's: the authorization server's issuer
        env = clean_env(
            JWT_SECRET=TEST_SECRET,
            SMTP_URL=box.url,
            ACCOUNT_URL_TEMPLATE=TEMPLATE,
            EMAIL_VERIFICATION="off",
            PUBLIC_URL=f"http://127.0.0.1:{port}",
        )
        if request.param == "sqlite-polling":
            env["DATABASE_URL"] = f"sqlite:///{tmp_path}/todo.db"
        else:
            env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
        if request.param == "redis":
            env["REDIS_URL"] = _redis_or_skip()
        servers = []
        for n in (1, 2):  # one after the other: the first migrates
            folder = tmp_path / f"instance-{n}"
            folder.mkdir()
            log = folder / "log"
            server = running_server(folder, env, log, port if n == 1 else None)
            servers.append(stack.enter_context(server))
        yield servers[0], servers[1], box


def _client(server: Server, token: str | None = None) -> httpx.AsyncClient:
    headers = bearer(token) if token else {}
    return httpx.AsyncClient(base_url=server.url, headers=headers, timeout=TIMEOUT)


async def test_a_reset_or_a_change_through_one_instance_ends_the_sign_ins_on_the_other(
    instances: tuple[Server, Server, Mailbox],
) -> None:
    one, two, box = instances
    email = unique_email()
    async with _client(one) as on_one:
        registered = await on_one.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        first = registered.json()

        async def change() -> None:
            changed = await on_one.post(
                "/api/auth/password/change",
                json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                headers=bearer(first["access_token"]),
            )
            assert changed.status_code == 200, changed.text
            second.update(changed.json())

        async def reset() -> None:
            forgot = await on_one.post("/api/auth/password/forgot", json={"email": email})
            assert forgot.status_code == 202
            [message] = await mail_to(box, email)
            token = link_token(message, "reset-password")
            done = await on_one.post(
                "/api/auth/password/reset", json={"token": token, "password": "third password!"}
            )
            assert done.status_code == 204, done.text

        second: dict[str, str] = {}
        for signed_in, end in ((first, change), (second, reset)):
            if signed_in is second:
                assert second, "the change gave new tokens"
            async with _client(two, signed_in["access_token"]) as on_two:
                for _ in range(3):  # looked up once, then kept by that process
                    assert (await on_two.get("/api/tasks")).status_code == 200
                async with open_stream(on_two) as (response, events):
                    assert response.status_code == 200
                    assert (await events.next_event()).event == "changes"
                    await end()
                    refused = await on_two.get("/api/tasks")
                    assert refused.status_code == 401, refused.text
                    assert refused.json()["code"] == "INVALID_TOKEN"
                    await asyncio.wait_for(ended(events), STREAMS_END_WITHIN_SECONDS)
    async with _client(two) as on_two:
        login = await on_two.post(
            "/api/auth/login", json={"email": email, "password": "third password!"}
        )
        assert login.status_code == 200


async def test_a_reset_of_an_unverified_account_refuses_its_tokens_on_the_other_instance(
    instances: tuple[Server, Server, Mailbox],
) -> None:
    """A personal token and an app's access token, looked up (and kept) by the second
    instance, are refused there from the request after a reset through the first."""
    one, two, box = instances
    email = unique_email()
    async with _client(one) as on_one:
        registered = await on_one.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        access = registered.json()["access_token"]
        made = await on_one.post("/api/tokens", json={"name": "kept"}, headers=bearer(access))
        assert made.status_code == 201, made.text
        personal = made.json()["token"]
        _client_info, app_tokens, _code = await connect(one.url, email)
        async with _client(two, personal) as on_two:
            for _ in range(3):  # looked up once, then kept by that process
                assert (await on_two.get("/api/tasks")).status_code == 200
                assert (await mcp_status(two.url, app_tokens["access_token"])).status_code == 200

            forgot = await on_one.post("/api/auth/password/forgot", json={"email": email})
            assert forgot.status_code == 202
            [message] = await mail_to(box, email)
            token = link_token(message, "reset-password")
            done = await on_one.post(
                "/api/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}
            )
            assert done.status_code == 204, done.text

            refused = await on_two.get("/api/tasks")
            assert refused.status_code == 401, refused.text
            assert refused.json()["code"] == "INVALID_TOKEN"
            assert (await mcp_status(two.url, app_tokens["access_token"])).status_code == 401
