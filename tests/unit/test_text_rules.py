"""The written-out character classes of todo_api.kit.text agree with Python's Unicode database, and
the OpenAPI patterns say what the validators do."""

import re
import unicodedata
from collections.abc import Callable

import pytest

from todo_api.kit import text
from todo_api.tables import keys

INVISIBLE = re.compile(text.char_class(text.INVISIBLE))
LINE = re.compile(text.LINE_PATTERN)
PORTABLE_LINE = re.compile(text.PORTABLE_LINE_PATTERN)
INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp"}


def test_every_control_format_and_space_character_counts_as_invisible() -> None:
    missing = [
        f"U+{code:04X}"
        for code in range(0x110000)
        if (unicodedata.category(chr(code)) in INVISIBLE_CATEGORIES or chr(code).isspace())
        and not INVISIBLE.match(chr(code))
    ]
    assert missing == []


def test_white_space_is_what_strip_trims() -> None:
    space = re.compile(text.char_class(text.WHITE_SPACE))
    trimmed = [code for code in range(0x110000) if not chr(code).strip()]
    assert [code for code in range(0x110000) if space.match(chr(code))] == trimmed


@pytest.mark.parametrize(
    "value",
    ["a", "İ", "é", "٣", "漢", "😀", "-", "\u202eabc", " x ", "\tx\n", "\U0001f3f3\ufe0f"],
)
def test_a_line_with_something_visible_matches_the_pattern_and_is_taken(value: str) -> None:
    assert LINE.match(value)
    assert PORTABLE_LINE.match(value)
    assert text.line(200)(value)


@pytest.mark.parametrize(
    "value", ["", " ", "\u200b", "\u202e", "\u3164", "\u2800", "a\x07b", "a\nb", "\U000e0041"]
)
def test_a_line_without_anything_visible_or_with_a_control_matches_neither(value: str) -> None:
    assert not LINE.match(value)
    # The portable pattern knows no character above U+FFFF: there the service alone refuses.
    assert bool(PORTABLE_LINE.match(value)) is (value == "\U000e0041")
    with pytest.raises(ValueError):  # noqa: PT011 (the message varies with the rule)
        text.line(200)(value)


def test_keys() -> None:
    assert keys.search_key("İstanbul") == keys.search_key("istanbul") == "istanbul"
    assert keys.search_key("Café Crème") == "cafe creme"
    assert keys.search_key("Straße") == "strasse"
    assert keys.name_key("\uff21\uff22\uff23") == keys.name_key("abc")
    assert keys.name_key("W\u200bork") == keys.name_key("WORK")
    assert keys.tag_form(" Été ") == "été"


def _taken(rule: Callable[[str], str], value: str) -> str | None:
    try:
        return rule(value)
    except ValueError:
        return None


def test_ascii_text_takes_the_same_rules_as_any_other() -> None:
    """ASCII text has quicker paths (nothing to normalise or decompose): each says what the
    general rule says, here for every pair of ASCII characters, alone and between letters
    (`é`, which takes the general path)."""
    line, tag, paragraph = text.line(200), text.tag(50), text.paragraph(2000)
    for first in range(128):
        for second in range(128):
            value = chr(first) + chr(second)
            taken = _taken(line, value)
            assert (taken is not None) is bool(LINE.match(value)), repr(value)
            assert taken is None or taken == value.strip()
            assert _taken(tag, value) == (None if taken is None else keys.tag_form(taken))
            general = _taken(paragraph, f"é{value}é")
            assert _taken(paragraph, value) == (None if general is None else general[1:-1])
            assert keys.search_key(f"é{value}é") == f"e{keys.search_key(value)}e"
