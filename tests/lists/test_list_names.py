"""List names: stored in NFC, with a visible character, and unique after NFKC and case folding,
ignoring default-ignorable characters."""

import unicodedata

import httpx
import pytest

from tests.lists.helpers import create_list, list_names
from tests.support import assert_error
from tests.tasks.helpers import assert_validation_error

LOOK_ALIKES = [
    pytest.param("Café", unicodedata.normalize("NFD", "Café"), id="nfc-nfd"),
    pytest.param("Work", "W\u200bork", id="zero-width-space"),
    pytest.param("Work", "Work\u2060", id="word-joiner"),
    pytest.param("abc", "ａｂｃ", id="full-width"),  # noqa: RUF001
    pytest.param("Straße", "STRASSE", id="sharp-s"),
    pytest.param("ﬁnance", "FINANCE", id="ligature"),
    pytest.param("İzmir", "i̇zmir", id="dotted-capital-i"),
]


@pytest.mark.parametrize(("first", "second"), LOOK_ALIKES)
async def test_look_alike_names_are_one_name(
    alice: httpx.AsyncClient, first: str, second: str
) -> None:
    made = await create_list(alice, first)
    assert_error(await alice.post("/api/lists", json={"name": second}), 409, "CONFLICT")
    other = await create_list(alice, "Other")
    response = await alice.patch(f"/api/lists/{other['id']}", json={"name": second})
    assert_error(response, 409, "CONFLICT")
    assert await list_names(alice) == [made["name"], "Other"]


async def test_a_name_is_stored_in_nfc(alice: httpx.AsyncClient) -> None:
    made = await create_list(alice, unicodedata.normalize("NFD", " Crème "))
    assert made["name"] == "Crème"
    # 200 characters as sent, 100 once composed: at the limit.
    assert (await create_list(alice, "a\u0301" * 100))["name"] == "á" * 100


@pytest.mark.parametrize(
    "name", ["\u200b", "\u202e\u202c", "\u3164\u3164", "\u2800", "\x01", "tab\there"]
)
async def test_a_name_without_a_visible_character_or_with_a_control_is_refused(
    alice: httpx.AsyncClient, name: str
) -> None:
    assert_validation_error(await alice.post("/api/lists", json={"name": name}), "name")
    made = await create_list(alice, "Kept")
    response = await alice.patch(f"/api/lists/{made['id']}", json={"name": name})
    assert_validation_error(response, "name")
    assert await list_names(alice) == ["Kept"]


async def test_names_of_different_users_may_look_alike(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    await create_list(alice, "Straße")
    assert (await create_list(bob, "STRASSE"))["name"] == "STRASSE"


async def test_a_name_within_the_limit_is_never_too_long_to_compare(
    alice: httpx.AsyncClient,
) -> None:
    # U+FDFA is 18 characters once NFKC-normalised: 99 of them make a key of 1 782.
    long_key = "\ufdfa" * 99
    made = await create_list(alice, long_key)
    assert made["name"] == long_key
    assert (await create_list(alice, "\ufdfa" * 100))["name"] == "\ufdfa" * 100
    # Still compared as every name is.
    await create_list(alice, "\ufdfa" * 90 + "Straße")
    same = await alice.post("/api/lists", json={"name": "\ufdfa" * 90 + "STRASSE"})
    assert_error(same, 409, "CONFLICT")
    assert_error(await alice.post("/api/lists", json={"name": long_key}), 409, "CONFLICT")
    renamed = await alice.patch(f"/api/lists/{made['id']}", json={"name": "\ufdfa" * 98})
    assert renamed.status_code == 200, renamed.text
    assert len(await list_names(alice)) == 3
