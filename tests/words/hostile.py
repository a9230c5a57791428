"""Texts written to make a reader work hard: far dates, huge counts and intervals, nested
groups, long runs of digits and separators, every language's words repeated, 1000 characters.

Shared by the tests of bounded work (tests/words/test_bounded_work.py) and bench/words_cost.py.
"""

from todo_api.words import lexicon

LONGEST = 1000  # quick add's longest text


def _fill(piece: str, prefix: str = "x ") -> str:
    """`piece` repeated to LONGEST characters after `prefix` (cut at a space)."""
    text = prefix + piece * (LONGEST // max(len(piece), 1) + 1)
    return text[:LONGEST].rsplit(" ", 1)[0] if " " in text[:LONGEST] else text[:LONGEST]


# Dates before 1900 or after 2100, however written: each is 400 naming `text` with its span.
FAR = [
    "x every day at 9am starting 0001-01-01",
    "x every day starting 0001-01-01",
    "x every 31st starting 0001-01-01",
    "x every last friday starting 1899-12-31",
    "x every year on feb 29 starting 0004-02-29",
    "x every monday until 9999-12-31",
    "x every day at 9am starting 9999-12-31",
    "x every year on feb 29 starting 2097-03-01",  # the next 29 February is in 2104
    "x 0001-01-01",
    "x 1899-12-31",
    "x 2101-01-01",
    "x 1/1/0001",
    "x 31/12/9999",
    "x jan 4 2150",
    "x in 999 years",
    "x in 99 years",
]

# Texts that are read quickly or not at all: 201 or 400, never more work.
SLOW_BEFORE = [
    "x every 999 days starting 1900-01-01",
    "x every 999 years",
    "x every 99999999 days",
    "x every 999999999999999999999 weeks on monday",
    "x in 99999999 days",
    "x every 5th friday starting 2100-12-01",
    "x every year on feb 29",
    "x every 3rd tuesday until 2100-12-31",
    "x every day until 1900-01-01",
    "x every month on the 31st starting 2100-12-31",
]

_EVERY_WORD = " ".join(sorted(lexicon.vocabulary()))

CORPUS = [
    *FAR,
    *SLOW_BEFORE,
    _fill("1"),
    _fill("9 "),
    _fill("12/"),
    _fill("1.1."),
    _fill("-/:., "),
    _fill("2026-12-24 "),
    _fill("every day "),
    _fill("every 999 days starting 1900-01-01 "),
    _fill("(("),
    _fill('"(\\'),
    _fill("#a "),
    _fill("@a "),
    _fill("p1 "),
    _fill("tomorrow at 5pm "),
    # The rules that read on past a time or a day: minutes to and past, approximation, an
    # ordinal day of a month, a holiday, a number with a dot or a dash after a day word.
    _fill("15 to 15 past "),
    _fill("about at about 3 p m "),
    _fill("the third tuesday of "),
    _fill("christmas eve "),
    _fill("on 10-10 "),
    _fill("2 upcoming 7 days hence "),
    _fill(_EVERY_WORD + " "),
    _fill("\u00a0\u2003 "),
    "x " + "9" * (LONGEST - 2),
]

# Each language's own words, repeated to 1000 characters: (lang, text).
LANGUAGE_WORDS = [
    (lang, _fill(" ".join(" ".join(key) for key in sorted(lexicon.phrases(lang))) + " "))
    for lang in lexicon.LANGUAGES
]

# DATE columns and filter dates: each whole phrase alone.
PHRASES = [
    *(text.removeprefix("x ") for text in FAR + SLOW_BEFORE),
    "1" * 64,
    "in 99999999 days",
    "99999999 years ago",
    "31 December 9999 23:59",
    "1 January 1 00:00",
    "monday tuesday wednesday thursday friday saturday sunday",
    "-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/-/",
    "9" * 300,
    _EVERY_WORD[:300],
]

# Whole filter queries: nested groups, long runs, every operator.
QUERIES = [
    "(" * 500 + "today" + ")" * 499,
    "(" * 49 + "today" + ")" * 49,
    "!" * 999 + "p1",
    "today & " * 124 + "today",
    "today, " * 142 + "today",
    "due before: " + "1" * 988,
    "due after: " + " ".join(["every day starting 0001-01-01"] * 30),
    "#" + "a" * 999,
    "search: " + '"' * 992,
    "(" + "p1 | " * 199 + "p1)",
]
