"""Helpers for the CalDAV tests: users with their /api client and their /dav client (HTTP
Basic with their token as the password, as calendar apps sign in), and WebDAV's XML."""

import asyncio
import base64
import fcntl
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from lxml import etree

from tests.helpers_server import FEED_WAIT_SECONDS
from tests.support import client_for, token_for
from todo_api.config import Settings

NS = {"d": "DAV:", "c": "urn:ietf:params:xml:ns:caldav", "cs": "http://calendarserver.org/ns/"}


@dataclass
class DavUser:
    api: httpx.AsyncClient  # Bearer, on /api
    dav: httpx.AsyncClient  # Basic, on /dav
    token: str
    id: str
    email: str | None = None

    @property
    def home(self) -> str:
        return f"/dav/calendars/{self.id}/"


def basic(token: str, user: str = "anyone") -> dict[str, str]:
    credentials = base64.b64encode(f"{user}:{token}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


@asynccontextmanager
async def dav_user(
    app: FastAPI, settings: Settings, email: str | None = None
) -> AsyncIterator[DavUser]:
    if email is not None:  # emails are unique: each test's user gets one of its own
        local, _, domain = email.partition("@")
        email = f"{local}+{uuid.uuid4().hex[:8]}@{domain}"
    async with client_for(app, token_for(settings, str(uuid.uuid4()), email)) as api:
        # A calendar app signs in with a personal access token as its password.
        made = await api.post("/api/tokens", json={"name": "calendar app"})
        assert made.status_code == 201, made.text
        token = made.json()["token"]
        async with client_for(app) as dav:
            dav.headers.update(basic(token))
            me = await api.get("/api/auth/me")
            assert me.status_code == 200, me.text
            yield DavUser(api, dav, token, me.json()["id"], email)


async def new_list(user: DavUser, name: str) -> str:
    response = await user.api.post("/api/lists", json={"name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def new_task(user: DavUser, title: str, **fields: object) -> str:
    response = await user.api.post("/api/tasks", json={"title": title, **fields})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def xml(response: httpx.Response) -> etree._Element:
    root: etree._Element = etree.fromstring(response.content)
    return root


def condition(response: httpx.Response) -> list[str]:
    """The preconditions a DAV:error body names."""
    return [node.tag for node in xml(response)]


def texts(root: etree._Element, path: str) -> list[str]:
    return [node.text or "" for node in root.iterfind(path, NS)]


PROPFIND_ALL = b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>'


def propfind_body(*props: str) -> bytes:
    inner = "".join(f"<{p}/>" for p in props)
    return (
        '<?xml version="1.0"?><d:propfind xmlns:d="DAV:" '
        'xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/" '
        f'xmlns:a="http://apple.com/ns/ical/"><d:prop>{inner}</d:prop></d:propfind>'
    ).encode()


async def propfind(
    client: httpx.AsyncClient, path: str, *props: str, depth: str = "0"
) -> httpx.Response:
    return await client.request(
        "PROPFIND", path, content=propfind_body(*props), headers={"Depth": depth}
    )


def vtodo(uid: str, summary: str, *lines: str) -> bytes:
    body = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//tests//EN",
        "BEGIN:VTODO",
        f"UID:{uid}",
        "DTSTAMP:20261101T000000Z",
        f"SUMMARY:{summary}",
        *lines,
        "END:VTODO",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(body).encode()


def sync_body(token: str = "", limit: int | None = None) -> bytes:
    limit_xml = f"<d:limit><d:nresults>{limit}</d:nresults></d:limit>" if limit else ""
    return (
        '<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:">'
        f"<d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level>{limit_xml}"
        "<d:prop><d:getetag/></d:prop></d:sync-collection>"
    ).encode()


async def sync(
    client: httpx.AsyncClient,
    path: str,
    token: str = "",
    limit: int | None = None,
    wait_for: Iterable[str] = (),
) -> tuple[dict[str, str], str]:
    """A sync-collection report: {href: status or etag}, and the next token.

    With `wait_for` (task ids), the same report is repeated (up to FEED_WAIT_SECONDS) until
    each is named: on PostgreSQL the feed holds back changes while any older transaction on
    the server is still running (see tests.tasks.feed_helpers.read_feed)."""
    wanted = set(wait_for)
    deadline = time.monotonic() + FEED_WAIT_SECONDS
    while True:
        found, next_token = await _sync_once(client, path, token, limit)
        named = {href.rsplit("/", 1)[1].removesuffix(".ics") for href in found}
        if wanted <= named or time.monotonic() > deadline:
            return found, next_token
        await asyncio.sleep(0.1)


async def _sync_once(
    client: httpx.AsyncClient, path: str, token: str, limit: int | None
) -> tuple[dict[str, str], str]:
    response = await client.request("REPORT", path, content=sync_body(token, limit))
    assert response.status_code == 207, response.text
    root = xml(response)
    found: dict[str, str] = {}
    for node in root.iterfind("d:response", NS):
        href = node.findtext("d:href", namespaces=NS) or ""
        status = node.findtext("d:status", namespaces=NS)
        etag = node.findtext("d:propstat/d:prop/d:getetag", namespaces=NS)
        found[href] = etag if etag is not None else (status or "")
    return found, root.findtext("d:sync-token", namespaces=NS) or ""


def npm_installed(folder: Path, package: str) -> Path:
    """`folder`, with its npm packages installed into its node_modules (ignored by git) from
    its package.json and lock file on first use; without node and npm the test is skipped
    (and fails in CI)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node and npm are needed for this test")
        pytest.skip("node and npm are not installed")
    with (folder / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the SQLite and PostgreSQL halves run side by side
        if not (folder / "node_modules" / package).is_dir():
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--silent"],
                cwd=folder,
                check=True,
                timeout=300,
            )
    return folder
