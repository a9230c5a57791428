"""The reader of words (todo_api.kit.words) on its own: its grammar's properties, the spans it
reports, what it leaves alone, and the phrases it hands to dateparser. The routes that use it
are tested through HTTP (test_quick_add.py, tests/yourdata/test_import_todoist_dates.py).

"Now" is Thursday 26 November 2026, 10:00 in Europe/Berlin; expected dates are counted here.
"""

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from todo_api.kit.words import LANGUAGES, read, read_date, read_rule, read_tags
from todo_api.kit.words.lexicon import vocabulary

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZONE)
TODAY = NOW.date()
ENGLISH_MONTHS = [name.lower() for name in calendar.month_name[1:]]

# Words of letters that no language's lexicon holds: text made of them has no phrase to read.
plain_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12).filter(
    lambda word: word not in vocabulary()
)
languages = st.sampled_from(LANGUAGES)


@given(st.lists(plain_words, min_size=1, max_size=12), languages)
def test_words_without_markers_come_back_as_the_title(words: list[str], lang: str) -> None:
    text = " ".join(words)
    reading = read(text, NOW, ZONE, lang)
    assert reading.title == text
    assert reading.spans == []
    assert (reading.due_date, reading.due_at, reading.recurrence) == (None, None, None)


@given(
    st.lists(plain_words, min_size=1, max_size=6),
    st.text(min_size=1).filter(lambda t: '"' not in t),
)
def test_quoted_text_is_never_read(words: list[str], inside: str) -> None:
    text = f'{" ".join(words)} "{inside}"'
    reading = read(text, NOW, ZONE, "en")
    assert reading.spans == []
    assert f'"{inside}"' in text
    assert reading.title == " ".join(text.split())


@given(st.text(max_size=200), languages)
def test_any_text_is_read_without_failing_and_its_spans_are_in_order(text: str, lang: str) -> None:
    reading = read(text, NOW, ZONE, lang)
    ends = 0
    for span in sorted(reading.spans, key=lambda s: s.start):
        assert ends <= span.start < span.end <= len(text)
        ends = span.end
    assert reading.title == reading.title.strip()


@given(st.integers(1, 999), st.sampled_from(["days", "weeks"]))
def test_in_n_days_or_weeks(count: int, unit: str) -> None:
    days = count * (7 if unit == "weeks" else 1)
    assert read_date(f"in {count} {unit}", NOW, ZONE) == TODAY + timedelta(days=days)


@given(st.dates(date(2000, 1, 1), date(2100, 12, 31)))
def test_an_iso_date_is_itself(day: date) -> None:
    assert read_date(day.isoformat(), NOW, ZONE) == day


@given(st.integers(1, 12), st.integers(1, 28), st.booleans())
def test_a_date_without_a_year_is_the_next_such_date_today_included(
    month: int, day: int, month_first: bool
) -> None:
    name = ENGLISH_MONTHS[month - 1]
    phrase = f"{name} {day}" if month_first else f"{day} {name[:3]}"
    this_year = date(TODAY.year, month, day)
    expected = this_year if this_year >= TODAY else date(TODAY.year + 1, month, day)
    assert read_date(phrase, NOW, ZONE) == expected


@given(st.integers(0, 23), st.integers(0, 59))
def test_a_time_is_today_at_that_time(hour: int, minute: int) -> None:
    expected = datetime.combine(TODAY, time(hour, minute), tzinfo=ZONE)
    assert read_date(f"{hour}:{minute:02d}", NOW, ZONE) == expected
    assert read_date(f"tomorrow at {hour}:{minute:02d}", NOW, ZONE) == expected + timedelta(days=1)


@given(st.integers(2, 99), st.sampled_from(["day", "week", "month", "year"]))
def test_every_n_units(count: int, unit: str) -> None:
    frequency = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}[unit]
    assert read_rule(f"every {count} {unit}s", NOW, ZONE) == (
        f"FREQ={frequency};INTERVAL={count}",
        TODAY,
    )


def test_the_spans_name_what_was_read() -> None:
    text = 'Send "the report" tomorrow 9am #Work @boss p2'
    reading = read(text, NOW, ZONE)
    assert reading.title == 'Send "the report"'
    assert [(text[s.start : s.end], s.kind, s.value) for s in reading.spans] == [
        ("tomorrow 9am", "due", "2026-11-27T09:00:00+01:00"),
        ("#Work", "list", "Work"),
        ("@boss", "tag", "boss"),
        ("p2", "priority", "medium"),
    ]


def test_only_the_first_date_is_read() -> None:
    reading = read("Ask about friday tomorrow", NOW, ZONE)
    assert (reading.title, reading.due_date) == ("Ask about tomorrow", date(2026, 11, 27))


@pytest.mark.parametrize(
    ("text", "title", "due"),
    [
        ("Buy milk, tomorrow.", "Buy milk,.", TODAY + timedelta(days=1)),
        ("Buy sun cream", "Buy cream", TODAY + timedelta(days=3)),  # a weekday, as Todoist
        ("Ring 3 times", "Ring 3 times", None),  # a number alone is no date
        ("Pay 15 euros", "Pay 15 euros", None),
        ("Email me@example.com", "Email me@example.com", None),
        ("Learn C# #", "Learn C# #", None),
        ("Zahnarzt morgen", "Zahnarzt morgen", None),  # English: no German words
    ],
)
def test_what_is_read_and_what_is_not(text: str, title: str, due: date | None) -> None:
    reading = read(text, NOW, ZONE)
    assert (reading.title, reading.due_date) == (title, due)


@pytest.mark.parametrize(
    ("phrase", "lang", "expected"),
    [
        ("in a week", "en", TODAY + timedelta(days=7)),
        ("in einer Woche", "de", TODAY + timedelta(days=7)),
        ("dans une semaine", "fr", TODAY + timedelta(days=7)),
        ("Thursday, December 3, 2026", "en", date(2026, 12, 3)),
    ],
)
def test_a_whole_phrase_the_grammar_does_not_read_goes_to_dateparser(
    phrase: str, lang: str, expected: date
) -> None:
    assert read_date(phrase, NOW, ZONE, lang) == expected


def test_a_phrase_nothing_reads_is_none() -> None:
    assert read_date("every full moon", NOW, ZONE) is None
    assert read_date("whenever", NOW, ZONE) is None
    assert read_rule("tomorrow", NOW, ZONE) is None
    assert read_date("every day", NOW, ZONE) is None  # a rule, not a date


def test_the_users_zone_decides_today() -> None:
    late = datetime(2026, 11, 26, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert read_date("today", late, "Europe/Berlin") == date(2026, 11, 27)
    assert read_date("today", late, "America/New_York") == date(2026, 11, 26)


def test_todoist_labels() -> None:
    assert read_tags("Buy milk @shop @urgent") == ("Buy milk", ["shop", "urgent"])
    assert read_tags('Say "@hi" to Ann') == ('Say "@hi" to Ann', [])
    assert read_tags("Tomorrow is fine") == ("Tomorrow is fine", [])
