"""The web app's theme on GET /api/auth/me, set by PATCH /api/auth/me: `light`, `dark` or
null (the system's); anything else is 400 naming it and changes nothing."""

import httpx
import pytest

from tests.accounts.test_timezone import me
from tests.tasks.helpers import assert_validation_error


async def test_a_theme_is_set_and_cleared(alice: httpx.AsyncClient) -> None:
    assert (await me(alice))["theme"] is None
    changed = await alice.patch("/api/auth/me", json={"theme": "dark"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["theme"] == "dark"
    assert changed.json()["language"] is None  # the others stay as they were
    assert (await me(alice))["theme"] == "dark"
    cleared = await alice.patch("/api/auth/me", json={"theme": None})
    assert cleared.status_code == 200, cleared.text
    assert (await me(alice))["theme"] is None


@pytest.mark.parametrize("theme", ["system", "Dark", "", 1])
async def test_an_unknown_theme_is_refused_naming_it(
    alice: httpx.AsyncClient, theme: object
) -> None:
    await alice.patch("/api/auth/me", json={"theme": "light"})
    response = await alice.patch("/api/auth/me", json={"theme": theme})
    assert_validation_error(response, "theme")
    assert (await me(alice))["theme"] == "light"
