"""The list's sharing page in the web app, on both databases: its owner and editors see the
list's address for tasks by email and make a new one (the old one then names nothing), turn it
off, and choose whether others' mail is taken; a viewer sees none of it; without INBOUND_DOMAIN
the section is not there."""

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.accounts.helpers import sign_up
from tests.lists.sharing import share
from tests.support import app_factory, client_for
from tests.web.test_pages import Account
from todo_api.config import Settings

ADDRESS = re.compile(r'id="email-address" value="([a-z2-7]{32}@tasks\.test)"')


@pytest.fixture
async def make_app(settings: Settings, tmp_path: Path) -> AsyncIterator[object]:
    async with app_factory(settings.database_url, tmp_path, email_verification="off") as make:
        yield make


async def person(app: FastAPI) -> Account:
    api, browser = client_for(app), client_for(app)
    account = Account(api, browser, await sign_up(api))
    assert (await account.sign_in()).status_code == 303
    return account


async def test_writers_copy_renew_and_turn_off_the_address_on_the_sharing_page(
    make_app: object,
) -> None:
    app = make_app(inbound_domain="tasks.test")  # type: ignore[operator]
    owner, editor, viewer = [await person(app) for _ in range(3)]
    made = await owner.api.post("/api/lists", json={"name": "Mail"}, headers=owner.headers)
    list_id = made.json()["id"]
    await share(
        client_for(app, owner.headers["Authorization"].split()[1]),
        client_for(app, editor.headers["Authorization"].split()[1]),
        list_id,
        "editor",
    )
    await share(
        client_for(app, owner.headers["Authorization"].split()[1]),
        client_for(app, viewer.headers["Authorization"].split()[1]),
        list_id,
        "viewer",
    )
    page = f"/app/lists/{list_id}/sharing"
    first = await owner.browser.get(page)
    assert "Tasks by email" in first.text
    assert "This list has no email address." in first.text
    answer = await owner.post(page, f"/app/lists/{list_id}/email-address")
    assert answer.status_code == 303
    shown = await editor.browser.get(page)
    found = ADDRESS.search(shown.text)
    assert found is not None
    assert 'data-copy="#email-address"' in shown.text
    api = f"/api/lists/{list_id}/inbound-address"
    listed = await owner.api.get(api, headers=owner.headers)
    assert listed.json()["address"] == found[1]
    # The editor makes a new one: the page shows it, the API too.
    assert (await editor.post(page, f"/app/lists/{list_id}/email-address")).status_code == 303
    renewed = ADDRESS.search((await owner.browser.get(page)).text)
    assert renewed is not None
    assert renewed[1] != found[1]
    others = f"/app/lists/{list_id}/email-address/others"
    assert (await owner.post(page, others, allow_others="on")).status_code == 303
    assert (await owner.api.get(api, headers=owner.headers)).json()["allow_others"] is True
    assert "checked" in html.unescape((await owner.browser.get(page)).text)
    assert (await owner.post(page, f"/app/lists/{list_id}/email-address/off")).status_code == 303
    off = (await owner.api.get(api, headers=owner.headers)).json()
    assert off["enabled"] is False
    assert off["allow_others"] is True
    # A viewer sees no address and may post nothing of it.
    viewed = await viewer.browser.get(page)
    assert "Tasks by email" not in viewed.text
    refused = await viewer.post(page, f"/app/lists/{list_id}/email-address")
    assert refused.status_code == 403
    assert (await owner.api.get(api, headers=owner.headers)).json()["enabled"] is False


async def test_no_address_section_without_the_domain(make_app: object) -> None:
    app = make_app()  # type: ignore[operator]
    owner = await person(app)
    made = await owner.api.post("/api/lists", json={"name": "Plain"}, headers=owner.headers)
    page = await owner.browser.get(f"/app/lists/{made.json()['id']}/sharing")
    assert page.status_code == 200
    assert "Tasks by email" not in page.text
