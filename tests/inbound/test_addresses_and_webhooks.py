"""Tasks by email through HTTP on both databases: a list's address (made, shown, rotated,
turned off; by its owner and editors only), and mail posted by Postmark's and Mailgun's inbound
webhooks made into tasks, with what an attacker tries refused: a wrong or rotated address,
forged posts (bad credentials, a bad signature, an old or replayed timestamp), a stranger's mail,
the same message twice, more than 100 a day, and many files."""

import base64
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.inbound.helpers import (
    DOMAIN,
    Make,
    inbound_settings,
    list_tasks,
    mailgun_form,
    new_address,
    postmark_credentials,
    postmark_payload,
    verified_person,
)
from tests.lists.helpers import create_list
from tests.lists.sharing import share
from tests.reminders.smtp import Mailbox
from tests.support import app_factory, assert_error
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.inbound.scheduled import KEPT_DAYS, prune_messages
from todo_api.inbound.taking import DAILY_LIMIT, FILES_PER_MESSAGE
from todo_api.kit.deps import held
from todo_api.kit.ids import utcnow
from todo_api.tables.inbound import inbound_messages

ADDRESS = re.compile(rf"^[a-z2-7]{{32}}@{re.escape(DOMAIN)}$")


@pytest.fixture
async def make_app(settings: Settings, tmp_path: Path) -> AsyncIterator[Make]:
    async with app_factory(settings.database_url, tmp_path) as make:
        yield make


@pytest.fixture
def app(make_app: Make, box: Mailbox, tmp_path: Path) -> Any:
    return make_app(**inbound_settings(box, tmp_path / "files"))


async def postmark(
    client: httpx.AsyncClient, body: dict[str, Any], **headers: str
) -> httpx.Response:
    return await client.post(
        "/inbound/postmark", json=body, headers=headers or postmark_credentials()
    )


def outcomes(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [result["outcome"] for result in response.json()["results"]]


async def test_an_address_is_made_shown_rotated_and_turned_off_by_writers_only(
    app: Any, box: Mailbox
) -> None:
    owner, editor, viewer, stranger = [await verified_person(app, box) for _ in range(4)]
    listed = await create_list(owner.client, "Errands")
    list_id = listed["id"]
    await share(owner.client, editor.client, list_id, "editor")
    await share(owner.client, viewer.client, list_id, "viewer")
    path = f"/api/lists/{list_id}/inbound-address"

    before = await owner.client.get(path)
    assert before.status_code == 200
    assert before.json()["enabled"] is False
    assert before.json()["address"] is None
    made = await owner.client.post(path)
    assert made.status_code == 201
    assert made.headers["cache-control"] == "no-store"
    address = made.json()["address"]
    assert ADDRESS.match(address)
    assert (await editor.client.get(path)).json()["address"] == address
    rotated = await editor.client.post(path)
    assert rotated.json()["address"] != address
    assert ADDRESS.match(rotated.json()["address"])
    assert (await owner.client.get(path)).json()["address"] == rotated.json()["address"]

    assert_error(await viewer.client.get(path), 403, "FORBIDDEN")
    assert_error(await viewer.client.post(path), 403, "FORBIDDEN")
    assert_error(await viewer.client.delete(path), 403, "FORBIDDEN")
    for method in ("get", "post", "delete"):
        assert_error(await getattr(stranger.client, method)(path), 404, "NOT_FOUND")
    assert_error(await owner.client.get("/api/lists/not-an-id/inbound-address"), 404, "NOT_FOUND")

    changed = await owner.client.patch(path, json={"allow_others": True})
    assert changed.status_code == 200
    assert changed.json()["allow_others"] is True
    bad = await owner.client.patch(path, json={"allow_others": "yes please"})
    assert bad.status_code == 400

    assert (await owner.client.delete(path)).status_code == 204
    off = (await owner.client.get(path)).json()
    assert off["enabled"] is False
    assert off["address"] is None
    assert off["allow_others"] is True
    # Mail to it, or to the one before it, is taken by no list.
    for old in (address, rotated.json()["address"]):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as hook:
            assert outcomes(await postmark(hook, postmark_payload(old, owner.email))) == [
                "unknown_address"
            ]
    assert await list_tasks(owner.client, list_id) == []


async def test_an_address_needs_the_domain(make_app: Make, box: Mailbox, tmp_path: Path) -> None:
    app = make_app(**{**inbound_settings(box, tmp_path), "inbound_domain": None})
    owner = await verified_person(app, box)
    listed = await create_list(owner.client, "Nowhere")
    refused = await owner.client.post(f"/api/lists/{listed['id']}/inbound-address")
    assert_error(refused, 503, "EMAIL_UNAVAILABLE")


async def test_postmark_mail_from_a_member_is_a_task_read_as_quick_add(
    app: Any, box: Mailbox
) -> None:
    owner = await verified_person(app, box)
    other = await create_list(owner.client, "Other")
    listed = await create_list(owner.client, "Errands")
    address = await new_address(owner.client, listed["id"])
    body = postmark_payload(
        address.upper(),  # a mail system may change its case
        owner.email,
        Subject="Buy milk tomorrow p1 @shop #Other",
        TextBody="Two litres.\nThe oat one.",
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as hook:
        assert_error(
            await postmark(hook, body, **postmark_credentials(password="wrong")),
            401,
            "UNAUTHORIZED",
        )
        assert_error(
            await postmark(hook, body, **postmark_credentials(user="other")), 401, "UNAUTHORIZED"
        )
        refused = await hook.post("/inbound/postmark", json=body)
        assert_error(refused, 401, "UNAUTHORIZED")
        assert refused.headers["www-authenticate"].startswith("Basic")
        assert await list_tasks(owner.client, listed["id"]) == []
        assert outcomes(await postmark(hook, body)) == ["taken"]
        # The same message again (its Message-ID) is taken once.
        assert outcomes(await postmark(hook, body)) == ["duplicate"]
    (task,) = await list_tasks(owner.client, listed["id"])
    assert task["title"] == "Buy milk"
    assert task["priority"] == "high"
    assert task["tags"] == ["shop"]
    assert task["due_date"] is not None
    assert task["description"] == "Two litres.\nThe oat one."
    assert task["created_by"] == owner.id
    assert await list_tasks(owner.client, other["id"]) == []
    files = (await owner.client.get(f"/api/tasks/{task['id']}/attachments")).json()
    assert [(f["name"], f["size"]) for f in files] == [("test.txt", 45)]
    content = await owner.client.get(files[0]["url"])
    assert content.content == b"This is attachment contents, base-64 encoded."
    activity = (await owner.client.get(f"/api/tasks/{task['id']}/activity")).json()["items"]
    emailed = [item for item in activity if item["action"] == "task.emailed"]
    assert emailed
    assert emailed[0]["changes"]["from"] == [None, owner.email]


async def test_html_only_mail_is_made_text_and_fetches_nothing(app: Any, box: Mailbox) -> None:
    owner = await verified_person(app, box)
    listed = await create_list(owner.client, "Reading")
    address = await new_address(owner.client, listed["id"])
    html = (
        '<html><head><link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head><body>'
        '<h1>Agenda</h1><p>First <b>item</b></p><img src="http://127.0.0.1:9/pixel.gif">'
        "<script>alert(1)</script></body></html>"
    )
    body = postmark_payload(
        address, owner.email, Subject="Meeting notes", TextBody="", HtmlBody=html, Attachments=[]
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as hook:
        assert outcomes(await postmark(hook, body)) == ["taken"]
    (task,) = await list_tasks(owner.client, listed["id"])
    assert "Agenda" in task["description"]
    assert "First item" in task["description"]
    assert "<" not in task["description"]
    assert "alert" not in task["description"]


async def test_a_strangers_mail_is_refused_unless_the_list_allows_it(
    app: Any, box: Mailbox
) -> None:
    owner, viewer, unverified_owner = [await verified_person(app, box) for _ in range(3)]
    listed = await create_list(owner.client, "Inbox by mail")
    await share(owner.client, viewer.client, listed["id"], "viewer")
    address = await new_address(owner.client, listed["id"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as hook:
        for sender in ("someone@elsewhere.example", viewer.email, unverified_owner.email):
            sent = postmark_payload(address, sender, Subject="Win a prize")
            assert outcomes(await postmark(hook, sent)) == ["refused_sender"]
        assert await list_tasks(owner.client, listed["id"]) == []
        path = f"/api/lists/{listed['id']}/inbound-address"
        assert (await owner.client.patch(path, json={"allow_others": True})).status_code == 200
        sent = postmark_payload(address, "someone@elsewhere.example", Subject="A note")
        assert outcomes(await postmark(hook, sent)) == ["taken"]
    (task,) = await list_tasks(owner.client, listed["id"])
    assert task["title"] == "A note"
    assert task["created_by"] == owner.id


async def test_mailgun_posts_are_signed_fresh_and_taken_once(app: Any, box: Mailbox) -> None:
    owner = await verified_person(app, box)
    listed = await create_list(owner.client, "Mailgun")
    address = await new_address(owner.client, listed["id"])
    files = {"attachment-1": ("notes.txt", b"hello from mailgun\n", "text/plain")}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as hook:
        forged = mailgun_form(address, owner.email, key="key-not-the-right-one")
        assert_error(
            await hook.post("/inbound/mailgun", data=forged, files=files), 401, "UNAUTHORIZED"
        )
        stale = mailgun_form(address, owner.email, at=1367605587)  # the sample's own time
        assert_error(
            await hook.post("/inbound/mailgun", data=stale, files=files), 401, "UNAUTHORIZED"
        )
        tampered = {**mailgun_form(address, owner.email), "timestamp": "1"}
        assert_error(await hook.post("/inbound/mailgun", data=tampered), 401, "UNAUTHORIZED")
        assert await list_tasks(owner.client, listed["id"]) == []
        good = mailgun_form(address, owner.email)
        taken = await hook.post("/inbound/mailgun", data=good, files=files)
        assert outcomes(taken) == ["taken"]
        replayed = await hook.post("/inbound/mailgun", data=good, files=files)
        assert_error(replayed, 401, "UNAUTHORIZED")
        wrong = mailgun_form(f"{'a' * 32}@{DOMAIN}", owner.email)
        assert outcomes(await hook.post("/inbound/mailgun", data=wrong)) == ["unknown_address"]
    (task,) = await list_tasks(owner.client, listed["id"])
    assert task["title"] == "Re: Sample POST request"
    assert task["description"].startswith("Hi Bob,\n\nThis is a test.")
    (file,) = (await owner.client.get(f"/api/tasks/{task['id']}/attachments")).json()
    assert (await owner.client.get(file["url"])).content == b"hello from mailgun\n"


async def test_webhooks_are_absent_without_their_credentials(
    make_app: Make, box: Mailbox, tmp_path: Path
) -> None:
    settings = {
        **inbound_settings(box, tmp_path),
        "inbound_postmark_user": None,
        "inbound_postmark_password": None,
        "inbound_mailgun_signing_key": None,
    }
    app = make_app(**settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as hook:
        assert_error(
            await hook.post("/inbound/postmark", json={}, headers=postmark_credentials()),
            404,
            "NOT_FOUND",
        )
        assert_error(
            await hook.post("/inbound/mailgun", data=mailgun_form("a@b.c", "d@e.f")),
            404,
            "NOT_FOUND",
        )


async def test_a_mail_bomb_is_held_to_100_a_day_and_20_files_a_message(
    app: Any, box: Mailbox
) -> None:
    owner = await verified_person(app, box)
    listed = await create_list(owner.client, "Flooded")
    address = await new_address(owner.client, listed["id"])
    many = [
        {
            "Name": f"f{n}.txt",
            "Content": base64.b64encode(b"x%d" % n).decode(),
            "ContentType": "text/plain",
        }
        for n in range(FILES_PER_MESSAGE + 5)
    ]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as hook:
        first = postmark_payload(address, owner.email, Subject="Many files", Attachments=many)
        assert outcomes(await postmark(hook, first)) == ["taken"]
        for n in range(DAILY_LIMIT - 1):
            sent = postmark_payload(address, owner.email, Subject=f"Message {n}", Attachments=[])
            assert outcomes(await postmark(hook, sent)) == ["taken"]
        over = postmark_payload(address, owner.email, Subject="One too many", Attachments=[])
        assert outcomes(await postmark(hook, over)) == ["over_limit"]
    titles = []
    cursor: str | None = None
    while True:
        params = {"list_id": listed["id"], "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = await owner.client.get("/api/tasks", params=params)
        titles += [task["title"] for task in page.json()]
        cursor = page.headers.get("x-next-cursor")
        if not cursor:
            break
    assert len(titles) == DAILY_LIMIT
    assert "One too many" not in titles
    tasks = await list_tasks(owner.client, listed["id"])
    with_files = next(task for task in tasks if task["title"] == "Many files")
    attached = (await owner.client.get(f"/api/tasks/{with_files['id']}/attachments")).json()
    assert len(attached) == FILES_PER_MESSAGE


async def test_a_webhook_body_past_the_message_limit_is_refused(
    make_app: Make, box: Mailbox, tmp_path: Path
) -> None:
    app = make_app(**inbound_settings(box, tmp_path), inbound_max_message_bytes=100_000)
    owner = await verified_person(app, box)
    listed = await create_list(owner.client, "Big")
    address = await new_address(owner.client, listed["id"])
    huge = postmark_payload(address, owner.email, TextBody="x" * 200_000)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as hook:
        assert_error(await postmark(hook, huge), 413, "PAYLOAD_TOO_LARGE")
    assert await list_tasks(owner.client, listed["id"]) == []


async def test_a_message_is_forgotten_after_a_month(app: Any, box: Mailbox) -> None:
    """The housekeeping job forgets the Message-IDs taken more than KEPT_DAYS ago (and no
    newer one): the same message a month later is a task again."""
    owner = await verified_person(app, box)
    listed = await create_list(owner.client, "Monthly")
    address = await new_address(owner.client, listed["id"])
    old = postmark_payload(address, owner.email, Subject="Pay rent", Attachments=[])
    new = postmark_payload(address, owner.email, Subject="Water plants", Attachments=[])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as hook:
        assert outcomes(await postmark(hook, old)) == ["taken"]
        assert outcomes(await postmark(hook, new)) == ["taken"]
        db = held(app, Database)
        month_ago = utcnow() - timedelta(days=KEPT_DAYS, minutes=1)
        async with db.connection() as conn:
            taken = inbound_messages.c.task_id.in_(
                [
                    uuid.UUID(task["id"])
                    for task in await list_tasks(owner.client, listed["id"])
                    if task["title"] == "Pay rent"
                ]
            )
            await conn.execute(update(inbound_messages).where(taken).values(received_at=month_ago))
        assert await prune_messages(db) == 1
        assert outcomes(await postmark(hook, old)) == ["taken"]
        assert outcomes(await postmark(hook, new)) == ["duplicate"]


async def test_control_characters_and_broken_text_in_a_message_still_make_a_task(
    app: Any, box: Mailbox
) -> None:
    """What no task may hold (control characters, lone surrogates: bytes no charset named) is
    left out, so that such a message is no poison the provider sends again and again."""
    owner = await verified_person(app, box)
    listed = await create_list(owner.client, "Noisy")
    address = await new_address(owner.client, listed["id"])
    body = postmark_payload(
        address,
        owner.email,
        Subject="Pay \u0007bills\ud800 \x1b[31mnow",
        TextBody="line one\x00\r\nline\u0085 two\x1b\ud83d",
        Attachments=[],
    )
    raw = json.dumps(body)  # JSON carries the lone surrogates as escapes
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as hook:
        sent = await hook.post(
            "/inbound/postmark",
            content=raw,
            headers={**postmark_credentials(), "Content-Type": "application/json"},
        )
        assert outcomes(sent) == ["taken"]
    (task,) = await list_tasks(owner.client, listed["id"])
    assert task["title"] == "Pay bills [31mnow"
    assert task["description"] == "line one\nline\n two"


async def test_files_past_the_attachment_limits_are_left_out_and_the_task_made(
    make_app: Make, box: Mailbox, tmp_path: Path
) -> None:
    app = make_app(
        **inbound_settings(box, tmp_path / "files"),
        attachment_max_bytes=100,
        attachment_quota_bytes=150,
    )
    owner = await verified_person(app, box)
    listed = await create_list(owner.client, "Small")
    address = await new_address(owner.client, listed["id"])

    def file(name: str, size: int) -> dict[str, str]:
        content = base64.b64encode(b"x" * size).decode()
        return {"Name": name, "Content": content, "ContentType": "text/plain"}

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as hook:
        first = [file("big.txt", 101), file("fits.txt", 90)]
        sent = postmark_payload(address, owner.email, Subject="First", Attachments=first)
        assert outcomes(await postmark(hook, sent)) == ["taken"]
        # 90 of the owner's 150 bytes are used: 70 more is past the quota.
        sent = postmark_payload(
            address, owner.email, Subject="Second", Attachments=[file("no.txt", 70)]
        )
        assert outcomes(await postmark(hook, sent)) == ["taken"]
    tasks = {task["title"]: task["id"] for task in await list_tasks(owner.client, listed["id"])}
    assert set(tasks) == {"First", "Second"}
    names = {
        title: [
            f["name"] for f in (await owner.client.get(f"/api/tasks/{task_id}/attachments")).json()
        ]
        for title, task_id in tasks.items()
    }
    assert names == {"First": ["fits.txt"], "Second": []}
