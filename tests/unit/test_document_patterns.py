"""The OpenAPI patterns of a reminder's `before_due` and a webhook's `url` admit what the
service's own checks take by form, and refuse what they refuse (what the patterns cannot say,
a duration's range and a port's, the document says in words)."""

import re

import pytest

from todo_api.kit.reminders import DURATION_PATTERN, parse_duration
from todo_api.kit.targets import url_problem
from todo_api.webhooks.schemas import URL_PATTERN

DURATION = re.compile(DURATION_PATTERN)
URL = re.compile(URL_PATTERN)


@pytest.mark.parametrize("text", ["PT15M", "PT2H", "P1D", "P1W", "P1W2DT3H4M5S", "PT90S", "P2DT1M"])
def test_a_duration_in_the_pattern_is_taken(text: str) -> None:
    assert DURATION.match(text)
    assert parse_duration(text)


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "P1M", "PT1D", "1D", "P1H", "P1.5D", ""])
def test_a_duration_outside_the_pattern_is_refused(text: str) -> None:
    assert not DURATION.match(text)
    with pytest.raises(ValueError, match="ISO 8601 duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hooks/todo",
        "HTTP://example.com",
        "http://[2001:db8::1]:8080/x",
        "http://user:pass@example.com:443/p?q=1#f",
        " https://example.com/trimmed ",
    ],
)
def test_a_url_in_the_pattern_is_taken(url: str) -> None:
    assert URL.match(url)
    assert url_problem(url.strip()) is None


@pytest.mark.parametrize(
    "url",
    ["", "ftp://example.com", "http://", "http://:80", "example.com", "http://a b/", "http://[/"],
)
def test_a_url_outside_the_pattern_is_refused(url: str) -> None:
    assert not URL.match(url)
    assert url_problem(url.strip()) is not None
