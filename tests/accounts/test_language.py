"""The web app's language and the name on GET /api/auth/me, set by PATCH /api/auth/me: one of
the seven languages or null (the browser's); anything else is 400 naming it and changes
nothing."""

from typing import get_args

import httpx
import pytest

from tests.accounts.test_timezone import me
from tests.tasks.helpers import assert_validation_error
from todo_api.accounts.schemas import Language
from todo_api.words.lexicon import LANGUAGES


def test_the_api_takes_the_languages_the_app_speaks() -> None:
    assert get_args(Language) == LANGUAGES


async def test_a_language_is_set_and_cleared(alice: httpx.AsyncClient) -> None:
    assert (await me(alice))["language"] is None
    changed = await alice.patch("/api/auth/me", json={"language": "de"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["language"] == "de"
    assert changed.json()["timezone"] == "UTC"  # the others stay as they were
    assert (await me(alice))["language"] == "de"
    cleared = await alice.patch("/api/auth/me", json={"language": None})
    assert cleared.status_code == 200, cleared.text
    assert (await me(alice))["language"] is None


@pytest.mark.parametrize("language", ["xx", "DE", "de-CH", "", 7])
async def test_an_unknown_language_is_refused_naming_it(
    alice: httpx.AsyncClient, language: object
) -> None:
    await alice.patch("/api/auth/me", json={"language": "fr"})
    response = await alice.patch("/api/auth/me", json={"language": language})
    assert_validation_error(response, "language")
    assert (await me(alice))["language"] == "fr"


async def test_a_name_is_set_and_cleared(alice: httpx.AsyncClient) -> None:
    named = await alice.patch("/api/auth/me", json={"name": "  Ada Lovelace "})
    assert named.status_code == 200, named.text
    assert named.json()["name"] == "Ada Lovelace"
    assert_validation_error(await alice.patch("/api/auth/me", json={"name": ""}), "name")
    cleared = await alice.patch("/api/auth/me", json={"name": None})
    assert cleared.json()["name"] is None
