"""No secret in a log: the request lines (text and JSON) show what a URL or its Referer carries
(an invitation's, a verification or reset link's token, a live updates' ticket, an OAuth code
or state, a calendar feed's secret) as `…`, read from what the service really writes on stderr."""

import json
import logging
import re
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.lists.sharing import invite
from tests.support import app_factory, client_for, token_for
from todo_api.config import Settings
from todo_api.process.logs import SECRET_PATHS

# What a route's path parameter is called when it carries a secret.
_SECRET_PARAMETER = re.compile(r"\{(token|secret|code|key|ticket)(:[^}]*)?\}")


@pytest.fixture
async def make_app(settings: Settings, tmp_path: Path) -> AsyncIterator[Callable[..., FastAPI]]:
    async with app_factory(settings.database_url, tmp_path) as make:
        yield make


def written(capsys: pytest.CaptureFixture[str]) -> str:
    for handler in logging.getLogger("todo_api").handlers:
        handler.flush()
    return capsys.readouterr().err


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_secrets_in_paths_queries_and_referers_are_not_logged(
    make_app: Callable[..., FastAPI],
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    log_format: str,
) -> None:
    app = make_app(log_format=log_format, log_level="INFO")
    made = {f"s{n}": f"Zq{secrets.token_hex(12)}" for n in range(14)}
    async with client_for(app, token_for(settings)) as owner:
        listed = await owner.post("/api/lists", json={"name": "Shared"})
        assert listed.status_code == 201, listed.text
        invitation = await invite(owner, listed.json()["id"])
    async with client_for(app) as browser:
        link = f"http://test/app/invitations/{invitation}"
        asked = [
            (f"/app/invitations/{invitation}", f"https://mail.example/read?token={made['s0']}"),
            (f"/app/signup?invitation={invitation}&next=/app", link),
            (f"/app/signin?carried={made['s1']}&next=%2Fapp", link + "?x=1"),
            (f"/app/reset?token={made['s2']}", f"https://a:{made['s3']}@example.com/"),
            (f"/app/verify?token={made['s4']}", None),
            (f"/account/reset-password?token={made['s5']}", None),
            (f"/account/verify-email?Token={made['s6']}", None),
            (f"/api/events?since=0&ticket={made['s7']}", None),
            (f"/api/auth/oidc/callback?code={made['s8']}&state={made['s9']}", None),
            (f"/oauth/authorize?response_type=code&state={made['s10']}", None),
            (f"/app/invitations/{made['s11']}/more", None),
            (f"/feeds/{made['s12']}.ics", f"http://test/feeds/{made['s13']}.ics"),
        ]
        for path, referer in asked:
            headers = {"Referer": referer} if referer else {}
            await browser.get(path, headers={**headers, "X-Request-ID": "logged"})
    log = written(capsys)
    lines = [line for line in log.splitlines() if "logged" in line]
    assert len(lines) == len(asked), log
    for secret in [invitation, *made.values()]:
        assert secret not in log
    if log_format == "json":
        logged = [json.loads(line) for line in lines]
        assert logged[0]["path"] == "/app/invitations/…"
        assert logged[0]["referer"] == "https://mail.example/read?token=…"
        assert logged[1]["query"] == "invitation=…&next=/app"
        assert logged[1]["referer"] == "http://test/app/invitations/…"
        assert logged[2]["query"] == "carried=…&next=%2Fapp"
        assert logged[3]["referer"] == "https://example.com/"
        assert logged[6]["query"] == "Token=…"
        assert logged[7]["query"] == "since=0&ticket=…"
        assert logged[8]["query"] == "code=…&state=…"
        assert logged[9]["query"] == "response_type=code&state=…"
        assert logged[10]["path"] == "/app/invitations/…"
        assert logged[11]["path"] == "/feeds/….ics"
        assert logged[11]["referer"] == "http://test/feeds/….ics"
    else:
        assert " GET /app/invitations/… " in lines[0]
        assert lines[0].endswith(" referer=https://mail.example/read?token=…")
        assert " GET /app/signup?invitation=…&next=/app " in lines[1]
        assert lines[1].endswith(" referer=http://test/app/invitations/…")
        assert " GET /app/reset?token=… " in lines[3]
        assert " GET /api/auth/oidc/callback?code=…&state=… " in lines[8]
        assert "referer" not in lines[4]
        assert " GET /feeds/….ics " in lines[11]
        assert lines[11].endswith(" referer=http://test/feeds/….ics")


def test_every_route_with_a_secret_in_its_path_is_redacted(
    make_app: Callable[..., FastAPI],
) -> None:
    """A route whose path names a secret (`{token}`, `{secret}`, ...) is one of SECRET_PATHS:
    a new one cannot be added without its log leaving it out."""
    app = make_app()
    found = []

    def walk(routes: list[object], prefix: str) -> None:
        for route in routes:
            path = prefix + str(getattr(route, "path", ""))
            inner = getattr(route, "routes", None)
            if inner and not hasattr(route, "endpoint"):
                walk(list(inner), path)
            elif _SECRET_PARAMETER.search(path):
                found.append(path)

    walk(list(app.routes), "")
    assert found  # the invitation page's, at least
    for path in found:
        before = _SECRET_PARAMETER.split(path, 1)[0]
        assert before.startswith(SECRET_PATHS), path


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_an_inbound_address_in_a_url_is_not_logged(
    make_app: Callable[..., FastAPI],
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    log_format: str,
) -> None:
    """A list's address for tasks by email, in a path, a query (its `@` encoded or not) or a
    Referer, shows as `…@domain`."""
    app = make_app(log_format=log_format, log_level="INFO", inbound_domain="tasks.test")
    async with client_for(app, token_for(settings)) as owner:
        listed = await owner.post("/api/lists", json={"name": "By mail"})
        made = await owner.post(f"/api/lists/{listed.json()['id']}/inbound-address")
        assert made.status_code == 201, made.text
        address = made.json()["address"]
        secret = address.split("@")[0]
        written(capsys)
        asked = [
            (f"/app/lists/x/{address}", None),
            (f"/api/search?q={address.replace('@', '%40')}", f"https://mail.example/?to={address}"),
            (f"/api/search?to={secret.upper()}@tasks.test&x=1", None),
        ]
        for path, referer in asked:
            headers = {"Referer": referer} if referer else {}
            await owner.get(path, headers={**headers, "X-Request-ID": "logged"})
    log = written(capsys)
    lines = [line for line in log.splitlines() if "logged" in line]
    assert len(lines) == len(asked), log
    assert secret not in log.lower()
    assert log.count("…@tasks.test") + log.count("…%40tasks.test") >= 4
