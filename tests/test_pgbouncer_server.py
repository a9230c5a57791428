"""Every route of a real `todo-api serve` process whose DATABASE_URL is Debian's pgbouncer in
transaction mode (as Neon's pooled URLs are), with DATABASE_STATEMENT_CACHE=false; migrations
go through DATABASE_DIRECT_URL. One pgbouncer and one server serve the whole module; the last
test checks, from the server's own /metrics, that every operation of its OpenAPI document was
called through the pooler.

pgbouncer comes from scripts/setup-ci.sh (run by .ci/run): without it these tests skip locally
and fail in CI.
"""

import concurrent.futures
import io
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy.engine import make_url

from tests.helpers_server import (
    Server,
    clean_env,
    free_port,
    launch_server,
    pgbouncer_binary,
    poll_feed,
    running_pgbouncer,
    running_server,
    wait_until_healthy,
)
from tests.push.test_push import PRIVATE_KEY, PUBLIC_KEY, PushClient
from tests.reminders.helpers import soon
from tests.support import HTTP_METHODS, IN_CI, TEST_SECRET, make_settings, token_for
from tests.webhooks.receiver import receiving

HTTP_TIMEOUT = 30.0
PASSWORD = "a long enough passphrase"


@pytest.fixture(scope="module")
def binary() -> str:
    found = pgbouncer_binary()
    if found is None:
        message = "pgbouncer is not installed (sh scripts/setup-ci.sh installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def server(
    binary: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    direct = make_url(postgres_url)
    folder = tmp_path_factory.mktemp("pgbouncer")
    with running_pgbouncer(binary, folder, direct.host or "127.0.0.1", direct.port or 5432) as pb:
        pooled = direct.set(host="127.0.0.1", port=pb.port)
        env = clean_env(
            DATABASE_URL=pooled.render_as_string(hide_password=False),
            DATABASE_DIRECT_URL=postgres_url,
            DATABASE_STATEMENT_CACHE="false",
            JWT_SECRET=TEST_SECRET,
            METRICS_TOKEN="scrape",
            # Webhooks deliver to a receiver of the test's on 127.0.0.1 (and Web Push may).
            WEBHOOK_ALLOW_PRIVATE_URLS="true",
            VAPID_PUBLIC_KEY=PUBLIC_KEY,
            VAPID_PRIVATE_KEY=PRIVATE_KEY,
            AUTH_RATE_LIMIT_ATTEMPTS="1000",  # a new account for each test
            INBOUND_DOMAIN="tasks.test",
            INBOUND_POSTMARK_USER="postmark",
            INBOUND_POSTMARK_PASSWORD=PASSWORD,
        )
        with running_server(folder, env, folder / "server.log") as server:
            yield server
        assert "Traceback" not in server.log(), server.log()


class Client:
    """httpx against the server, signed in as one new account."""

    def __init__(self, server: Server) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT)
        self.email = f"pooled-{uuid.uuid4().hex[:10]}@example.test"
        registered = self.http.post(
            "/api/auth/register", json={"email": self.email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        self.tokens: dict[str, Any] = registered.json()
        self.http.headers["Authorization"] = f"Bearer {self.tokens['access_token']}"

    def call(self, method: str, path: str, status: int, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.text)
        return response


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    client = Client(server)
    yield client
    client.http.close()


def test_the_server_migrated_through_the_direct_url(server: Server, postgres_url: str) -> None:
    log = server.log()
    direct = make_url(postgres_url)
    assert f"migrations through: PostgreSQL {direct.host}:{direct.port}/{direct.database}" in log
    assert "database schema at migration" in log
    assert httpx.get(f"{server.url}/ready", timeout=HTTP_TIMEOUT).status_code == 200
    assert httpx.get(f"{server.url}/health", timeout=HTTP_TIMEOUT).status_code == 200


def test_a_server_started_before_its_database_waits_for_it(
    binary: str, postgres_url: str, tmp_path: Path
) -> None:
    direct = make_url(postgres_url)
    port = free_port()  # where the pooler will be, once it is started
    env = clean_env(
        DATABASE_URL=direct.set(host="127.0.0.1", port=port).render_as_string(False),
        DATABASE_STATEMENT_CACHE="false",
        DATABASE_CONNECT_TIMEOUT="120",
        JWT_SECRET=TEST_SECRET,
    )
    waiting = launch_server(tmp_path, env, tmp_path / "server.log")
    try:
        deadline = time.monotonic() + HTTP_TIMEOUT
        while "database not reachable (attempt 2" not in waiting.log():
            assert waiting.process.poll() is None, waiting.log()
            assert time.monotonic() < deadline, waiting.log()
            time.sleep(0.1)
        host, server_port = direct.host or "127.0.0.1", direct.port or 5432
        with running_pgbouncer(binary, tmp_path, host, server_port, port=port):
            wait_until_healthy(waiting, timeout=HTTP_TIMEOUT)
            ready = httpx.get(f"{waiting.url}/ready", timeout=HTTP_TIMEOUT)
            assert ready.status_code == 200, ready.text
            # Stopped while its database is there: a job's turn after the pooler has gone
            # would log the outage (with its traceback), which is not what this test is about.
            waiting.stop()
    finally:
        waiting.stop()
    assert "database schema at migration" in waiting.log()
    assert "Traceback" not in waiting.log()


def test_accounts(client: Client) -> None:
    me = client.call("GET", "/api/auth/me", 200).json()
    assert me["email"] == client.email
    moved = client.call("PATCH", "/api/auth/me", 200, json={"timezone": "Europe/Berlin"}).json()
    assert moved["timezone"] == "Europe/Berlin"
    login = client.call(
        "POST", "/api/auth/login", 200, json={"email": client.email, "password": PASSWORD}
    )
    form = client.call(
        "POST", "/api/auth/token", 200, data={"username": client.email, "password": PASSWORD}
    )
    assert form.json()["user"]["id"] == login.json()["user"]["id"] == me["id"]
    refresh = {"refresh_token": login.json()["refresh_token"]}
    renewed = client.call("POST", "/api/auth/refresh", 200, json=refresh).json()
    client.call("POST", "/api/auth/logout", 204, json={"refresh_token": renewed["refresh_token"]})
    client.call("POST", "/api/auth/refresh", 401, json={"refresh_token": renewed["refresh_token"]})
    # Personal tokens, and the apps connected by OAuth (none here).
    made = client.call("POST", "/api/tokens", 201, json={"name": "pooled"}).json()
    assert [token["id"] for token in client.call("GET", "/api/tokens", 200).json()] == [made["id"]]
    client.call("DELETE", f"/api/tokens/{made['id']}", 204)
    assert client.call("GET", "/api/connections", 200).json() == []
    client.call("DELETE", f"/api/connections/{uuid.uuid4()}", 404)
    # (One account for these too: registering more would meet the limit per address.)
    _account_routes_comments_activity_and_notifications(client)


def test_tasks(client: Client) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    created = client.call("POST", "/api/tasks", 201, json={"title": "one"}, headers=key).json()
    replayed = client.call("POST", "/api/tasks", 201, json={"title": "one"}, headers=key)
    assert replayed.json()["id"] == created["id"]
    second = client.call("POST", "/api/tasks", 201, json={"title": "two"}).json()
    url = f"/api/tasks/{created['id']}"

    got = client.call("GET", url, 200)
    client.call("GET", url, 304, headers={"If-None-Match": got.headers["etag"]})
    patched = client.call(
        "PATCH", url, 200, json={"priority": "high"}, headers={"If-Match": got.headers["etag"]}
    ).json()
    assert patched["priority"] == "high"
    client.call("PATCH", url, 412, json={"title": "x"}, headers={"If-Match": got.headers["etag"]})
    put = client.call("PUT", url, 200, json={"title": "one, renamed", "tags": ["a"]}).json()
    assert put["title"] == "one, renamed"
    assert client.call("POST", f"{url}/complete", 200).json()["is_completed"] is True
    assert client.call("POST", f"{url}/reopen", 200).json()["is_completed"] is False
    # A repeating task's completion, its undo; a deletion restored (then deleted again).
    weekly = {"title": "weekly", "due_date": "2031-01-06", "recurrence": "FREQ=WEEKLY"}
    repeating = f"/api/tasks/{client.call('POST', '/api/tasks', 201, json=weekly).json()['id']}"
    assert client.call("POST", f"{repeating}/complete", 200).json()["due_date"] == "2031-01-13"
    [done] = client.call("GET", f"{repeating}/completions", 200).json()
    assert done["occurrence"] == "2031-01-06"
    undone = client.call("POST", f"{repeating}/completions/latest/undo", 200).json()
    assert undone["due_date"] == "2031-01-06"
    client.call("DELETE", repeating, 204)
    assert client.call("POST", f"{repeating}/restore", 200).json()["title"] == "weekly"
    client.call("DELETE", repeating, 204)

    first_page = client.call("GET", "/api/tasks", 200, params={"limit": 1})
    assert len(first_page.json()) == 1
    cursor = first_page.headers["x-next-cursor"]
    rest = client.call("GET", "/api/tasks", 200, params={"limit": 1, "cursor": cursor}).json()
    assert {first_page.json()[0]["id"], rest[0]["id"]} == {created["id"], second["id"]}
    tagged = client.call("GET", "/api/tasks", 200, params={"tag": "a"}).json()
    assert [task["id"] for task in tagged] == [created["id"]]

    client.call("DELETE", url, 204)
    client.call("GET", url, 404)
    _words_and_filters(client)


def _words_and_filters(client: Client) -> None:
    """Quick add and saved filters (with test_tasks's account: each new one is a registration,
    which the server limits per address)."""
    preview = client.call("POST", "/api/tasks/quick/preview", 200, json={"text": "Pay rent p1"})
    assert preview.json()["title"] == "Pay rent"
    quick = client.call("POST", "/api/tasks/quick", 201, json={"text": "Pay rent p1 @home"})
    assert quick.json()["priority"] == "high"
    high = client.call("GET", "/api/tasks", 200, params={"filter": "p1 & @home"}).json()
    assert [task["id"] for task in high] == [quick.json()["id"]]
    made = client.call("POST", "/api/filters", 201, json={"name": "Home", "query": "@home"})
    other = client.call("POST", "/api/filters", 201, json={"name": "Top", "query": "p1"}).json()
    url = f"/api/filters/{made.json()['id']}"
    assert client.call("GET", url, 200).json()["query"] == "@home"
    assert client.call("PATCH", url, 200, json={"name": "At home"}).json()["name"] == "At home"
    client.call("POST", f"{url}/move", 200, json={"after": other["id"]})
    names = [saved["name"] for saved in client.call("GET", "/api/filters", 200).json()]
    assert names == ["Top", "At home"]
    tasks = client.call("GET", f"{url}/tasks", 200).json()
    assert [task["id"] for task in tasks] == [quick.json()["id"]]
    _calendar_feeds(client, made.json()["id"])
    client.call("DELETE", url, 204)
    client.call("DELETE", f"/api/filters/{other['id']}", 204)


def _calendar_feeds(client: Client, filter_id: str) -> None:
    """A calendar feed of a saved filter, with a repeating task's completed occurrence."""
    weekly = {
        "title": "bins",
        "due_date": "2031-01-06",
        "recurrence": "FREQ=WEEKLY",
        "tags": ["home"],
    }
    repeating = client.call("POST", "/api/tasks", 201, json=weekly).json()
    client.call("POST", f"/api/tasks/{repeating['id']}/complete", 200)
    feed = client.call("POST", "/api/feeds", 201, json={"filter_id": filter_id}).json()
    assert [made["id"] for made in client.call("GET", "/api/feeds", 200).json()] == [feed["id"]]
    path = "/feeds/" + feed["url"].rpartition("/feeds/")[2]
    text = client.call("GET", path, 200).text
    assert "EXDATE;VALUE=DATE:20310106" in text
    assert f"UID:{repeating['id']}" in text
    client.call("GET", path, 304, headers={"If-None-Match": client.http.get(path).headers["etag"]})
    client.call("DELETE", f"/api/feeds/{feed['id']}", 204)
    client.call("GET", path, 404)
    client.call("DELETE", f"/api/tasks/{repeating['id']}", 204)


def test_bulk_and_the_change_feed(client: Client) -> None:
    start = client.call("GET", "/api/tasks/changes", 200).json()
    bulk = client.call(
        "POST",
        "/api/tasks/bulk",
        200,
        json={
            "operations": [
                {"op": "create", "data": {"title": "bulk one"}},
                {"op": "create", "data": {"title": "bulk two"}},
            ]
        },
    ).json()
    made = [result["task"]["id"] for result in bulk["results"]]
    client.call("DELETE", f"/api/tasks/{made[1]}", 204)
    feed = poll_feed(client.http, start["next"], set(made))
    assert [task["id"] for task in feed["changes"]] == [made[0]]
    assert feed["deleted"] == [made[1]]


def test_routes_with_the_user_in_the_path(client: Client) -> None:
    me = client.call("GET", "/api/auth/me", 200).json()
    base = f"/api/{me['id']}/tasks"
    created = client.call("POST", base, 201, json={"title": "in the path"}).json()
    assert [task["id"] for task in client.call("GET", base, 200).json()] == [created["id"]]
    url = f"{base}/{created['id']}"
    assert client.call("GET", url, 200).json()["title"] == "in the path"
    client.call("PUT", url, 200, json={"title": "renamed in the path"})
    assert client.call("PATCH", f"{url}/complete", 200).json()["is_completed"] is True
    client.call("DELETE", url, 204)
    client.call("GET", url, 404)


def test_lists_and_manual_order(server: Server, client: Client) -> None:
    document = httpx.get(f"{server.url}/openapi.json", timeout=HTTP_TIMEOUT).json()
    if "/api/lists" not in document["paths"]:
        pytest.skip("this build has no lists")
    home = client.call("POST", "/api/lists", 201, json={"name": "Home"}).json()
    work = client.call("POST", "/api/lists", 201, json={"name": "Work"}).json()
    house = client.call("PATCH", f"/api/lists/{home['id']}", 200, json={"name": "House"}).json()
    assert client.call("GET", f"/api/lists/{home['id']}", 200).json()["name"] == house["name"]
    client.call("POST", f"/api/lists/{work['id']}/move", 200, json={"before": home["id"]})
    names = [item["name"] for item in client.call("GET", "/api/lists", 200).json()]
    assert names == ["Work", "House"]

    first = client.call("POST", "/api/tasks", 201, json={"title": "a", "list_id": home["id"]})
    second = client.call("POST", "/api/tasks", 201, json={"title": "b", "list_id": home["id"]})
    moved = {"before": first.json()["id"]}
    client.call("POST", f"/api/tasks/{second.json()['id']}/move", 200, json=moved)
    in_order = client.call(
        "GET", "/api/tasks", 200, params={"list_id": home["id"], "sort": "position"}
    ).json()
    assert [task["title"] for task in in_order] == ["b", "a"]

    # A list's sections: made, read, renamed, ordered, a task put in one, deleted.
    sections = f"/api/lists/{home['id']}/sections"
    later = client.call("POST", sections, 201, json={"name": "Later"}).json()
    now = client.call("POST", sections, 201, json={"name": "Now"}).json()
    client.call("PATCH", f"/api/sections/{now['id']}", 200, json={"name": "Today"})
    client.call("POST", f"/api/sections/{now['id']}/move", 200, json={"before": later["id"]})
    assert [s["name"] for s in client.call("GET", sections, 200).json()] == ["Today", "Later"]
    placed = {"section_id": later["id"]}
    client.call("PATCH", f"/api/tasks/{first.json()['id']}", 200, json=placed)
    assert client.call("GET", f"/api/sections/{later['id']}", 200).json()["name"] == "Later"
    client.call("DELETE", f"/api/sections/{later['id']}", 204, params={"keep_tasks": "true"})

    # A task's file: uploaded, listed, read, its bytes and thumbnail fetched, deleted.
    image = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(image, "PNG")
    files = f"/api/tasks/{first.json()['id']}/attachments"
    made = client.call("POST", files, 201, files={"file": ("dot.png", image.getvalue())}).json()
    assert [f["id"] for f in client.call("GET", files, 200).json()] == [made["id"]]
    attachment = f"/api/attachments/{made['id']}"
    assert client.call("GET", attachment, 200).json()["name"] == "dot.png"
    assert client.call("GET", f"{attachment}/content", 200).content == image.getvalue()
    client.call("GET", f"{attachment}/thumbnail", 200)
    client.call("DELETE", attachment, 204)

    client.call("DELETE", f"/api/lists/{home['id']}", 204)
    client.call("GET", f"/api/tasks/{first.json()['id']}", 404)


def test_sharing_a_list(server: Server, client: Client) -> None:
    member = Client(server)
    try:
        shared = client.call("POST", "/api/lists", 201, json={"name": "Shared"}).json()
        invitations = f"/api/lists/{shared['id']}/invitations"
        link = client.call("POST", invitations, 201, json={"role": "viewer"}).json()
        assert [i["id"] for i in client.call("GET", invitations, 200).json()] == [link["id"]]
        member.call("POST", "/api/invitations/accept", 200, json={"token": link["token"]})
        client.call("DELETE", f"{invitations}/{link['id']}", 204)
        task = client.call("POST", "/api/tasks", 201, json={"title": "s", "list_id": shared["id"]})
        member.call("PATCH", f"/api/tasks/{task.json()['id']}", 403, json={"title": "x"})
        members = f"/api/lists/{shared['id']}/members"
        member_id = member.call("GET", "/api/auth/me", 200).json()["id"]
        assert len(member.call("GET", members, 200).json()) == 2
        client.call("PATCH", f"{members}/{member_id}", 200, json={"role": "editor"})
        member.call("PATCH", f"/api/tasks/{task.json()['id']}", 200, json={"title": "x"})
        owner = f"/api/lists/{shared['id']}/owner"
        client.call("POST", owner, 200, json={"user_id": member_id})  # handed over
        former = client.call("GET", "/api/auth/me", 200).json()["id"]
        member.call("DELETE", f"{members}/{former}", 204)
        client.call("GET", f"/api/tasks/{task.json()['id']}", 404)
    finally:
        member.http.close()


def test_tasks_by_email(client: Client) -> None:
    listed = client.call("POST", "/api/lists", 201, json={"name": "By mail"}).json()
    path = f"/api/lists/{listed['id']}/inbound-address"
    assert client.call("GET", path, 200).json()["enabled"] is False
    address = client.call("POST", path, 201).json()["address"]
    assert client.call("PATCH", path, 200, json={"allow_others": True}).json()["allow_others"]
    mail = {
        "FromFull": {"Email": "someone@elsewhere.test"},
        "ToFull": [{"Email": address}],
        "Subject": "Mailed in tomorrow",
        "TextBody": "Through the pooler.",
        "Headers": [{"Name": "Message-ID", "Value": f"<{uuid.uuid4()}@elsewhere.test>"}],
    }
    posted = httpx.post(
        f"{client.http.base_url}/inbound/postmark",
        json=mail,
        auth=("postmark", PASSWORD),
        timeout=HTTP_TIMEOUT,
    )
    assert posted.status_code == 200, posted.text
    assert [r["outcome"] for r in posted.json()["results"]] == ["taken"]
    tasks = client.call("GET", "/api/tasks", 200, params={"list_id": listed["id"]}).json()
    assert [task["title"] for task in tasks] == ["Mailed in"]
    client.call("DELETE", path, 204)


def test_live_updates(client: Client) -> None:
    """A stream opened with a ticket pushes a task made through the pooler (its wake-up goes
    over LISTEN on DATABASE_DIRECT_URL: the pooler would drop it)."""
    ticket = client.call("POST", "/api/events/ticket", 201).json()["ticket"]
    with client.http.stream("GET", "/api/events", params={"ticket": ticket}) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(line for line in lines if line.startswith("data: "))  # the empty page
        title = {"title": "pushed through the pooler"}
        task = client.call("POST", "/api/tasks", 201, json=title).json()
        deadline = time.monotonic() + HTTP_TIMEOUT
        for line in lines:  # a keep-alive comes every 15 s at least
            if line.startswith("data: ") and task["id"] in line:
                break
            assert time.monotonic() < deadline, "the task was not pushed"


def test_webhooks(client: Client) -> None:
    """Deliveries are written, claimed and released through the pooler (transaction mode), and
    so are reminders."""
    with receiving() as receiver:
        hook = client.call(
            "POST", "/api/webhooks", 201, json={"url": receiver.url(), "events": ["*"]}
        ).json()
        path = f"/api/webhooks/{hook['id']}"
        client.call("GET", "/api/webhooks", 200)
        client.call("GET", path, 200)
        client.call("PATCH", path, 200, json={"description": "through the pooler"})
        client.call("POST", f"{path}/rotate-secret", 200)
        client.call("POST", "/api/tasks", 201, json={"title": "announced"})
        ping = client.call("POST", f"{path}/ping", 202).json()
        deadline = time.monotonic() + HTTP_TIMEOUT
        while len(receiver.requests()) < 2:
            assert time.monotonic() < deadline, "the deliveries did not arrive"
            time.sleep(0.05)
        client.call("POST", f"{path}/deliveries/{ping['id']}/retry", 202)
        rows = client.call("GET", f"{path}/deliveries", 200).json()
        assert {row["type"] for row in rows} == {"task.created", "ping"}
        # A reminder: scheduled, listed, claimed and fired through the pooler too.
        body = {"title": "reminded", "reminders": [{"at": soon(1)}]}
        reminded = client.call("POST", "/api/tasks", 201, json=body).json()
        upcoming = client.call("GET", "/api/reminders", 200).json()
        assert [row["reminder_id"] for row in upcoming] == [reminded["reminders"][0]["id"]]
        while not any(event["type"] == "reminder.fired" for event in receiver.events()):
            assert time.monotonic() < deadline + HTTP_TIMEOUT, "the reminder did not fire"
            time.sleep(0.05)
        client.call("DELETE", path, 204)
    assert {request.json()["type"] for request in receiver.requests()} >= {"task.created", "ping"}


def test_push_subscriptions(client: Client) -> None:
    """A browser's push subscription kept, found again and dropped through the pooler."""
    assert client.call("GET", "/api/push-subscriptions/key", 200).json() == {
        "public_key": PUBLIC_KEY
    }
    subscription = PushClient("http://127.0.0.1:1/push/pooled").subscription()
    client.call("POST", "/api/push-subscriptions", 201, json=subscription)
    client.call("POST", "/api/push-subscriptions", 200, json=subscription)
    client.call(
        "DELETE",
        "/api/push-subscriptions",
        204,
        params={"endpoint": "http://127.0.0.1:1/push/pooled"},
    )


def test_many_requests_at_once_share_the_pooled_connections(client: Client) -> None:
    # More concurrent requests than the pooler has server connections (20).
    def create(n: int) -> int:
        return client.http.post("/api/tasks", json={"title": f"at once {n}"}).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(create, range(60)))
    assert statuses == [201] * 60
    assert len(client.call("GET", "/api/tasks", 200, params={"limit": 100}).json()) == 60


def test_your_data_export_import_and_deletion(
    server: Server, postgres_url: str, tmp_path: Path
) -> None:
    # An account of its own (a frontend's token: registering more would meet its limit),
    # deleted at the end.
    email = f"leaving-{uuid.uuid4().hex[:10]}@example.test"
    token = token_for(make_settings(postgres_url, tmp_path), str(uuid.uuid4()), email)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=HTTP_TIMEOUT) as http:
        assert http.post("/api/tasks", json={"title": "exported"}).status_code == 201
        document = http.get("/api/export").json()
        assert [task["title"] for task in document["tasks"]] == ["exported"]
        imported = http.post("/api/import", params={"source": "todo-api"}, json=document)
        assert imported.status_code == 200, imported.text
        assert imported.json()["tasks"] == 1
        # Another app's file, its format told from it, written once: the second run makes
        # nothing.
        board = (Path(__file__).parent / "fixtures/imports/trello-deck-board.json").read_bytes()
        for made in (1, 0):
            answer = http.post(
                "/api/import",
                params={"source": "auto"},
                content=board,
                headers={"Content-Type": "application/json"},
            )
            assert answer.status_code == 200, answer.text
            assert (answer.json()["source"], answer.json()["tasks"]) == ("trello", made)
        deleted = http.request("DELETE", "/api/auth/me", json={"confirm": email})
        assert deleted.status_code == 204, deleted.text


def _account_routes_comments_activity_and_notifications(client: Client) -> None:
    """The routes of built-in accounts (with no mail server here: 503 where one must send),
    two-factor and passkeys (refused without an authenticator), comments, activity and
    notifications, each through the pooler."""

    def answered(method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = client.http.request(method, path, **kwargs)
        assert response.status_code < 500 or response.status_code == 503, (path, response.text)
        return response

    sessions = client.call("GET", "/api/auth/sessions", 200).json()
    assert any(row["current"] for row in sessions)
    client.call("DELETE", f"/api/auth/sessions/{uuid.uuid4()}", 404)
    answered("POST", "/api/auth/password/forgot", json={"email": client.email})
    answered("POST", "/api/auth/password/reset", json={"token": "x" * 43, "password": PASSWORD})
    answered("POST", "/api/auth/email/verify", json={"token": "x" * 43})
    answered("POST", "/api/auth/email/resend", json={"email": client.email})
    answered(
        "POST", "/api/auth/email/change", json={"new_email": "x@example.test", "password": PASSWORD}
    )
    client.call("POST", "/api/auth/2fa/setup", 200, json={"password": PASSWORD})
    answered("POST", "/api/auth/2fa/enable", json={"code": "000000"})
    answered("POST", "/api/auth/2fa/disable", json={"password": PASSWORD, "code": "000000"})
    answered("POST", "/api/auth/login/2fa", json={"mfa_token": "x", "code": "000000"})
    assert client.call("GET", "/api/auth/passkeys", 200).json() == []
    client.call("DELETE", f"/api/auth/passkeys/{uuid.uuid4()}", 404)
    for step in ("register/options", "login/options"):
        answered("POST", f"/api/auth/passkeys/{step}")
    for step in ("register", "login"):
        answered("POST", f"/api/auth/passkeys/{step}", json={"credential": {}})
    listed = client.call("POST", "/api/lists", 201, json={"name": "talked about"}).json()
    task = client.call("POST", "/api/tasks", 201, json={"title": "t", "list_id": listed["id"]})
    comments = f"/api/tasks/{task.json()['id']}/comments"
    comment = client.call("POST", comments, 201, json={"body": "first"}).json()
    assert [c["id"] for c in client.call("GET", comments, 200).json()] == [comment["id"]]
    client.call("PATCH", f"{comments}/{comment['id']}", 200, json={"body": "changed"})
    client.call("DELETE", f"{comments}/{comment['id']}", 204)
    assert client.call("GET", f"/api/tasks/{task.json()['id']}/activity", 200).json()["items"]
    assert client.call("GET", f"/api/lists/{listed['id']}/activity", 200).json()["items"]
    assert client.call("GET", "/api/notifications", 200).json()["unread_count"] == 0
    settings = client.call("GET", "/api/notifications/settings", 200).json()
    client.call("PATCH", "/api/notifications/settings", 200, json={"email": settings["email"]})
    client.call("POST", "/api/notifications/read", 204, json={"all": True})
    answered(
        "POST",
        "/api/auth/password/change",
        json={"current_password": "wrong" * 3, "new_password": PASSWORD},
    )
    client.call("POST", "/api/auth/logout-all", 204)


def test_every_operation_was_served_through_the_pooler(server: Server) -> None:
    """Last in this module: /metrics counts requests by route template; each operation of the
    OpenAPI document must have been called by the tests above (a new route needs one here)."""
    document = httpx.get(f"{server.url}/openapi.json", timeout=HTTP_TIMEOUT).json()
    metrics = httpx.get(
        f"{server.url}/metrics", headers={"Authorization": "Bearer scrape"}, timeout=HTTP_TIMEOUT
    )
    assert metrics.status_code == 200
    served = set(
        re.findall(r'^http_requests_total\{method="(\w+)",route="([^"]+)"', metrics.text, re.M)
    )
    served |= {
        (method, route)
        for route, method in re.findall(
            r'^http_requests_total\{route="([^"]+)",method="(\w+)"', metrics.text, re.M
        )
    }
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    missing = operations - served - {("GET", "/metrics")}  # this very request is counted after
    assert not missing, sorted(missing)
