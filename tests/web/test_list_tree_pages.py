"""Lists inside lists in the web app, through HTTP on both databases: the sidebar nests each
list under its parent with a fold button (`aria-expanded`) whose state, a form, is kept for the
person; a list's settings choose its parent."""

import re

from tests.web.test_pages import Account, account, app, signed_in  # noqa: F401 (fixtures)
from tests.web.test_views_pages import api


async def _sidebar(who: Account) -> str:
    page = await who.browser.get("/app/")
    assert page.status_code == 200, page.text
    found = re.search(r'<nav aria-label="Lists">(.*?)</nav>', page.text, re.S)
    assert found is not None
    return found[1]


async def test_the_sidebar_nests_lists_and_folds_them_for_the_person(
    signed_in: Account,  # noqa: F811
) -> None:
    work = await api(signed_in, "POST", "/api/lists", {"name": "Work"})
    client = await api(signed_in, "POST", "/api/lists", {"name": "Client", "parent_id": work["id"]})
    await api(signed_in, "POST", "/api/lists", {"name": "Home"})
    side = await _sidebar(signed_in)
    # Client inside Work's own list, after Work's link; Home at the top, after Work's.
    inside = re.search(rf'<ul id="inside-{work["id"]}" class="inside">(.*?)</ul>', side, re.S)
    assert inside is not None
    assert f"/app/lists/{client['id']}" in inside[1]
    assert side.index("Work") < side.index("Client") < side.index("Home")
    assert 'aria-expanded="true"' in side
    assert 'aria-label="Lists inside Work"' in side

    folded = await signed_in.post(
        "/app/", f"/app/lists/{work['id']}/fold", folded="true", back="/app/today"
    )
    assert folded.status_code == 303, folded.text
    assert folded.headers["location"] == "/app/today"
    side = await _sidebar(signed_in)
    assert 'aria-expanded="false"' in side
    assert f'<ul id="inside-{work["id"]}" class="inside" hidden>' in side
    # Folding is the person's view, not a change to the list.
    assert (await api(signed_in, "GET", f"/api/lists/{work['id']}")) == work
    await signed_in.post("/app/", f"/app/lists/{work['id']}/fold", folded="false")
    assert f'<ul id="inside-{work["id"]}" class="inside">' in await _sidebar(signed_in)


async def test_a_lists_settings_choose_its_parent(signed_in: Account) -> None:  # noqa: F811
    work = await api(signed_in, "POST", "/api/lists", {"name": "Work"})
    home = await api(signed_in, "POST", "/api/lists", {"name": "Home"})
    page = f"/app/lists/{home['id']}"
    form = (await signed_in.browser.get(page)).text
    assert '<select id="list-parent" name="parent_id">' in form
    moved = await signed_in.post(page, f"{page}/parent", parent_id=work["id"])
    assert moved.status_code == 303, moved.text
    listed = await api(signed_in, "GET", f"/api/lists/{home['id']}")
    assert listed["parent_id"] == work["id"]
    assert f'<option value="{work["id"]}" selected>' in (await signed_in.browser.get(page)).text
    # A parent the rules refuse (the list itself) is said on the page.
    refused = await signed_in.post(page, f"{page}/parent", parent_id=home["id"])
    assert refused.status_code == 400
    back = await signed_in.post(page, f"{page}/parent", parent_id="")
    assert back.status_code == 303
    assert (await api(signed_in, "GET", f"/api/lists/{home['id']}"))["parent_id"] is None
