"""Preconditions on their own: which versions If-Match and If-None-Match name."""

import pytest

from todo_api.kit.conditional import MAX_VERSION, etag, if_match, matches_none


def test_an_etag_is_the_version_quoted() -> None:
    assert etag(7) == '"7"'
    assert if_match(etag(MAX_VERSION)) == {MAX_VERSION}


@pytest.mark.parametrize("header", [None, "*", " * "])
def test_if_match_without_a_header_or_with_a_star_is_unconditional(header: str | None) -> None:
    assert if_match(header) is None


@pytest.mark.parametrize(
    ("header", "versions"),
    [
        ('"3"', {3}),
        ('"3", "5"', {3, 5}),
        ('  "3" ,"5",,  "3"  ', {3, 5}),
        ('W/"3"', set()),  # a weak tag never matches strongly
        ('W/"3", "4"', {4}),
        ('"0"', {0}),
        ('"007"', {7}),
        ("3", set()),
        ("'3'", set()),
        ('"3', set()),
        ('"-3"', set()),
        ('"3.0"', set()),
        ('"abc"', set()),
        ('""', set()),
        ("", set()),
        ('"*"', set()),
        ('*, "3"', {3}),
        (f'"{MAX_VERSION}"', {MAX_VERSION}),
        (f'"{MAX_VERSION + 1}"', set()),  # beyond 2^31 - 1: names no version
        ('"99999999999"', set()),  # more than ten digits
        ('"²"', set()),
        ('"٣"', set()),  # digits of other scripts are not ASCII digits
    ],
)
def test_if_match_names_the_strong_versions_it_lists(header: str, versions: set[int]) -> None:
    assert if_match(header) == frozenset(versions)


@pytest.mark.parametrize(
    ("header", "version", "proceed"),
    [
        (None, 3, True),
        ("*", 3, False),
        (" * ", 3, False),
        ('"3"', 3, False),
        ('W/"3"', 3, False),  # compared weakly
        ('"4", W/"3"', 3, False),
        ('"4", "5"', 3, True),
        ('w/"3"', 3, True),  # the weak prefix is case-sensitive
        ('"3', 3, True),
        ("3", 3, True),
        ('"²"', 2, True),
        (f'"{MAX_VERSION}"', MAX_VERSION, False),
        (f'"{MAX_VERSION + 1}"', MAX_VERSION + 1, True),
        ("", 3, True),
    ],
)
def test_matches_none_is_false_only_when_the_current_version_is_named(
    header: str | None, version: int, proceed: bool
) -> None:
    assert matches_none(header, version) is proceed
