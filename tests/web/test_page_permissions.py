"""Every page of the web app answers as its forms' posts would, on both databases: walked from
the app's own routes (every GET with an id in its address), as a shared list's viewer and
editor and as a stranger. A page whose form its post would refuse is 403 to whoever may see
the thing (a viewer's section page, a file's delete page for all but its uploader and the
list's owner), 404 to whoever may not; and it offers no form to post there. A viewer's pages
show no form but those a viewer may post."""

import io
import re
import uuid
from typing import Any

from fastapi import FastAPI
from PIL import Image
from starlette.routing import Route

from tests.accounts.helpers import sign_up
from tests.notifications.test_notifications import made as notifications_made
from tests.support import client_for
from tests.web.test_pages import Account, account, app, signed_in  # noqa: F401 (fixtures)
from todo_api.config import Settings
from todo_api.kit.routes import Section

# What each page with an id in its address answers a member of the list in each role: 200 (a
# page they may read, its forms theirs to post) or 403 (a form they may not post). A stranger
# gets 404 from each. A new page with an id must be named here: the walk fails until it is.
ANSWERS = {
    "/app/lists/{list_id}": {"viewer": 200, "editor": 200},
    "/app/lists/{list_id}/delete": {"viewer": 403, "editor": 403},  # the owner's only
    "/app/lists/{list_id}/activity": {"viewer": 200, "editor": 200},
    "/app/lists/{list_id}/sharing": {"viewer": 200, "editor": 200},  # leaving: theirs
    "/app/sections/{section_id}": {"viewer": 403, "editor": 200},
    "/app/tasks/{task_id}": {"viewer": 200, "editor": 200},  # a viewer's shows no form
    "/app/attachments/{attachment_id}/content": {"viewer": 200, "editor": 200},
    "/app/attachments/{attachment_id}/thumbnail": {"viewer": 200, "editor": 200},
    # Its uploader's or the list owner's to delete.
    "/app/attachments/{attachment_id}/delete": {"viewer": 403, "editor": 403},
    # Each person's own: nobody else's to see.
    "/app/filters/{filter_id}": {"viewer": 404, "editor": 404},
    "/app/notifications/{notification_id}": {"viewer": 404, "editor": 404},
}
# The forms a viewer's pages may show (besides the hidden one every page has, `id="rows"`):
# their own lists and their order, a view's sort and look, leaving the list, signing out.
VIEWERS_FORMS = re.compile(
    r"/app/(lists|sort|view|signout|lists/[^/]+/(move|members/[^/]+/remove))"
)
# Addresses whose part is no one's id: a static file's name, an invitation link's secret.
NO_ONES = {"/app/static/{name}", "/app/invitations/{token}"}


async def api(who: Account, method: str, path: str, body: Any = None, **options: Any) -> Any:
    answer = await who.api.request(method, path, json=body, headers=who.headers, **options)
    assert answer.is_success, answer.text
    return answer.json() if answer.content else None


def pages_with_ids(web: FastAPI) -> list[str]:
    """Every GET page of the app with a parameter in its address."""
    [section] = [route for route in web.routes if isinstance(route, Section)]
    return [
        route.path
        for route in section.routes
        if isinstance(route, Route) and "GET" in (route.methods or ()) and "{" in route.path
    ]


async def member(web: FastAPI, owner: Account, list_id: str, role: str | None) -> Account:
    """A new account, in the list in `role` (None: a stranger), signed in on its browser."""
    api_client, browser = client_for(web), client_for(web)
    person = Account(api_client, browser, await sign_up(api_client))
    if role is not None:
        link = await api(owner, "POST", f"/api/lists/{list_id}/invitations", {"role": role})
        await api(person, "POST", "/api/invitations/accept", {"token": link["token"]})
    assert (await person.sign_in()).status_code == 303
    return person


async def test_a_page_answers_as_its_forms_posts_would(
    signed_in: Account,  # noqa: F811
    app: FastAPI,  # noqa: F811
    settings: Settings,
) -> None:
    owner = signed_in
    shared = await api(owner, "POST", "/api/lists", {"name": "Shared"})
    list_id = shared["id"]
    section = await api(owner, "POST", f"/api/lists/{list_id}/sections", {"name": "Doing"})
    task = await api(owner, "POST", "/api/tasks", {"title": "Paint", "list_id": list_id})
    image = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 40)).save(image, "PNG")
    upload = {"params": {"name": "roof.png"}, "content": image.getvalue()}
    headers = {**owner.headers, "Content-Type": "image/png"}
    added = await owner.api.post(f"/api/tasks/{task['id']}/attachments", headers=headers, **upload)
    assert added.status_code == 201, added.text
    saved = await api(owner, "POST", "/api/filters", {"name": "Mine", "query": "p1"})
    people = {role: await member(app, owner, list_id, role) for role in ("viewer", "editor")}
    people["stranger"] = await member(app, owner, list_id, None)
    await notifications_made(settings)
    [joined, *_] = (await api(owner, "GET", "/api/notifications"))["items"]  # a member joined
    ids = {
        "list_id": list_id,
        "section_id": section["id"],
        "task_id": task["id"],
        "attachment_id": added.json()["id"],
        "filter_id": saved["id"],
        "notification_id": joined["id"],
    }

    walked = pages_with_ids(app)
    assert set(walked) - NO_ONES == set(ANSWERS), "a page with an id to name in ANSWERS"
    for path in ANSWERS:
        address = path.format(**ids)
        for role, person in people.items():
            expected = 404 if role == "stranger" else ANSWERS[path][role]
            page = await person.browser.get(address)
            assert page.status_code == expected, (role, address, page.text[:300])
            if expected == 200 and role == "viewer":
                posted = set(re.findall(r'<form method="post" action="([^"]+)"', page.text))
                assert all(VIEWERS_FORMS.fullmatch(action) for action in posted), posted
            if expected != 200:  # nothing there to post (but the hidden form every page has)
                shown = re.sub(r'<form id="rows"[^>]*>', "", page.text)
                assert not re.search(f'action="{re.escape(address)}[/"]', shown), address
        # The owner may open each (a notification goes on to what it is about); an id that
        # nobody has is 404 to them too.
        assert (await owner.browser.get(address)).status_code in (200, 303), address
        nobodys = path.format(**dict.fromkeys(ids, str(uuid.uuid4())))
        assert (await owner.browser.get(nobodys)).status_code == 404, nobodys

    said = await people["viewer"].browser.get(f"/app/sections/{section['id']}")
    assert "You can see this but not change it" in said.text
    for person in people.values():
        await person.api.aclose()
        await person.browser.aclose()
