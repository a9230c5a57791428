"""The reader of words (todo_api.words) on its own: its grammar's properties, the spans it
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

from todo_api.words import LANGUAGES, OutOfRange, read, read_date, read_rule, read_tags
from todo_api.words.lexicon import phrases, vocabulary

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
    try:
        reading = read(text, NOW, ZONE, lang)
    except OutOfRange as far:  # a date before 1900 or after 2100: its span is in the text
        span = (far.start, far.end)
        assert 0 <= span[0] < span[1] <= len(text)
        return
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


@given(st.integers(1, 12), st.integers(0, 59), st.sampled_from(["am", "pm", "AM", "PM"]))
def test_twelve_hour_times(hour: int, minute: int, half: str) -> None:
    expected = time(hour % 12 + (12 if half.lower() == "pm" else 0), minute)
    for phrase in (f"{hour}:{minute:02d}{half}", f"{hour}:{minute:02d} {half}"):
        assert read_date(f"dec 24 {phrase}", NOW, ZONE) == datetime.combine(
            date(2026, 12, 24), expected, tzinfo=ZONE
        )


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


def test_a_mark_after_a_list_or_tag_is_not_its_name() -> None:
    reading = read("Call Ann #Home. @phone!", NOW, ZONE)
    assert (reading.list_name, reading.tags, reading.title) == ("Home", ["phone"], "Call Ann.!")


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
    assert read_rule("every! 3 days", NOW, ZONE) is None  # Todoist's "after completion"
    assert read_date("whenever", NOW, ZONE) is None
    assert read_rule("tomorrow", NOW, ZONE) is None
    assert read_date("every day", NOW, ZONE) is None  # a rule, not a date
    for short in ("a", "2", "15", "2027"):  # dateparser would read each as some date
        assert read_date(short, NOW, ZONE) is None


def test_the_users_zone_decides_today() -> None:
    late = datetime(2026, 11, 26, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert read_date("today", late, "Europe/Berlin") == date(2026, 11, 27)
    assert read_date("today", late, "America/New_York") == date(2026, 11, 26)


def test_todoist_labels() -> None:
    assert read_tags("Buy milk @shop @urgent") == ("Buy milk", ["shop", "urgent"])
    assert read_tags('Say "@hi" to Ann') == ('Say "@hi" to Ann', [])
    assert read_tags("Tomorrow is fine") == ("Tomorrow is fine", [])


def test_a_time_on_the_day_the_clocks_change_follows_the_users_zone() -> None:
    saturday = datetime(2027, 3, 27, 10, 0, tzinfo=ZONE)  # Berlin moves to summer time on Sunday
    nine = read_date("tomorrow 9am", saturday, ZONE)
    assert nine == datetime(2027, 3, 28, 9, 0, tzinfo=ZONE)
    assert isinstance(nine, datetime)
    assert nine.utcoffset() == timedelta(hours=2)
    # 02:30 does not exist that night: read with the offset before the gap (RFC 5545).
    gap = read_date("tomorrow 2:30am", saturday, ZONE)
    assert isinstance(gap, datetime)
    assert gap.utcoffset() == timedelta(hours=1)


def _names(lang: str, prefix: str) -> list[tuple[str, int]]:
    """Each word of `lang`'s lexicon for a weekday (WD0..WD6) or a month (MON1..MON12)."""
    return [
        (" ".join(key), int(symbol[len(prefix) :]))
        for key, symbols in phrases(lang).items()
        for symbol in symbols
        if symbol.startswith(prefix) and symbol[len(prefix) :].isdigit()
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_weekday_and_month_name_of_each_language(lang: str) -> None:
    for name, weekday in _names(lang, "WD"):
        expected = TODAY + timedelta(days=(weekday - TODAY.weekday()) % 7)
        assert read_date(name, NOW, ZONE, lang) == expected, name
    for name, month in _names(lang, "MON"):
        this_year = date(TODAY.year, month, 4)
        expected = this_year if this_year >= TODAY else date(TODAY.year + 1, month, 4)
        assert read_date(f"4 {name}", NOW, ZONE, lang) == expected, name
        assert read_rule(f"{name} 4", NOW, ZONE, lang) is None, name
