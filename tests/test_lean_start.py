"""What only some deployments use is loaded on its first use, not when a process starts: the
MCP SDK (and the authorization server on it), Web Push (pywebpush, with aiohttp and requests),
the S3 client, Pillow (thumbnails, APP_ICON's sizes), the OpenID Connect client, the inbound
mail server and its HTML reader, Alembic (where no migration runs: /ready and the backfills
read the migrations' ids from their files), py_webauthn (with pyOpenSSL, pyasn1 and cbor2) until
the first passkey, segno until the first two-factor set-up, puremagic until the first upload,
aiosmtplib until the first email. Each is one to fifteen megabytes of every worker's memory
(bench/memory.py). A fresh interpreter, as a worker is, starts the app, serves a page, the API
and /ready, and says which of them it holds; then one MCP call loads the SDK.

What only some requests use is loaded by the first of them: CalDAV (dav/'s modules with
lxml) by the first request to /dav or /.well-known/caldav, icalendar by the first calendar
object, feed or .ics file, Jinja2 by the first page, markdown-it by the first description
shown, httpx by the first webhook delivery, push, JWKS or session fetched. A worker that
served only the API and /ready holds none of them; a page then loads Jinja2, and a /dav
request lxml, each answering as it should."""

import json
import subprocess
import sys
from pathlib import Path

from tests.support import TEST_SECRET

LOADED_ON_FIRST_USE = (
    "mcp",
    "pywebpush",
    "py_vapid",
    "aiohttp",
    "requests",
    "aiobotocore",
    "botocore",
    "PIL",
    "authlib",
    "aiosmtpd",
    "inscriptis",
    "alembic",
    "mako",
    "webauthn",
    "OpenSSL",
    "pyasn1",
    "cbor2",
    "segno",
    "puremagic",
    "aiosmtplib",
)
# Not loaded until a page, a calendar app, a calendar object or OIDC needs them.
LOADED_BY_SOME_REQUESTS = (
    "lxml",
    "todo_api.dav.server",
    "icalendar",
    "todo_api.ical",
    "jinja2",
    "todo_api.web.common.templates",
    "markdown_it",
    "httpx",
    "httpcore",
)

_WORKER = """
import asyncio, json, sys, uuid
from starlette.testclient import TestClient
from todo_api.app import create_app
from todo_api.auth.tokens import mint_token
from todo_api.config import Settings

settings = Settings(_env_file=None, database_url=sys.argv[1], jwt_secret=sys.argv[2])
if "--migrate" in sys.argv:
    from todo_api.migrations import upgrade_to_head

    asyncio.run(upgrade_to_head(settings))
    sys.exit(0)
heavy = json.loads(sys.argv[3])
some = json.loads(sys.argv[4])
seen = {}
with TestClient(create_app(settings)) as client:
    headers = {"Authorization": "Bearer " + mint_token(settings, subject=str(uuid.uuid4()))}
    assert client.get("/ready").status_code == 200
    assert client.get("/api/tasks", headers=headers).status_code == 200
    assert client.post("/api/tasks", json={"title": "Milk"}, headers=headers).status_code == 201
    seen["api"] = sorted(name for name in some if name in sys.modules)
    assert client.get("/app/", follow_redirects=False).status_code in (200, 302, 303)
    signin = client.get("/app/signin")
    assert signin.status_code == 200 and "<form" in signin.text, signin.text[:300]
    seen["after_page"] = sorted(name for name in some if name in sys.modules)
    root = client.get("/.well-known/caldav", follow_redirects=False)
    assert root.status_code == 301 and root.headers["location"] == "/dav/", root.headers
    found = client.request("PROPFIND", "/dav/", headers={**headers, "Depth": "0"})
    assert found.status_code == 207 and "multistatus" in found.text, found.text[:300]
    seen["after_dav"] = sorted(name for name in some if name in sys.modules)
    seen["served"] = sorted(name for name in heavy if name in sys.modules)
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    mcp = client.post("/mcp", json=call, headers={**headers, "Accept": "application/json"})
    seen["mcp"] = mcp.status_code
    seen["after_mcp"] = sorted(name for name in heavy if name in sys.modules)
print(json.dumps(seen))
"""


def _worker(tmp_path: Path, *args: str) -> str:
    url = f"sqlite:///{tmp_path}/todo.db"
    done = subprocess.run(
        [sys.executable, "-c", _WORKER, url, TEST_SECRET, *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=Path(__file__).parent.parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_worker_loads_what_few_deployments_use_only_when_used(tmp_path: Path) -> None:
    _worker(tmp_path, "--migrate")
    lazy = json.dumps(LOADED_ON_FIRST_USE), json.dumps(LOADED_BY_SOME_REQUESTS)
    seen = json.loads(_worker(tmp_path, *lazy).splitlines()[-1])
    assert seen["api"] == []  # the API and /ready: none of what only some requests use
    assert seen["served"] == []
    assert "jinja2" in seen["after_page"]  # the first page loaded it, and was rendered
    assert "lxml" not in seen["after_page"]
    assert {"lxml", "todo_api.dav.server"} <= set(seen["after_dav"])  # and CalDAV answered
    assert seen["mcp"] == 200
    assert "mcp" in seen["after_mcp"]  # the SDK came with the first call, and answered it
