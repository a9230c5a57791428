"""The recurrence rules on their own: reading an RRULE and finding the next due date."""

from datetime import UTC, datetime, time

import pytest

from todo_api.tasks.recurrence import MAX_NUMBER, InvalidRule, Rule, next_occurrence, parse

MONDAY = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("FREQ=DAILY", Rule("DAILY")),
        ("RRULE:FREQ=WEEKLY", Rule("WEEKLY")),
        ("rrule:freq=monthly;interval=3", Rule("MONTHLY", interval=3)),
        ("  FREQ = YEARLY ; COUNT = 4 ;", Rule("YEARLY", count=4)),
        ("FREQ=WEEKLY;BYDAY=MO,WE,MO,FR", Rule("WEEKLY", weekdays=("MO", "WE", "FR"))),
        ("FREQ=DAILY;INTERVAL=1", Rule("DAILY")),
        (f"FREQ=DAILY;COUNT={MAX_NUMBER}", Rule("DAILY", count=MAX_NUMBER)),
        (
            "FREQ=DAILY;UNTIL=20261231T080000Z",
            Rule("DAILY", until=datetime(2026, 12, 31, 8, tzinfo=UTC)),
        ),
        (
            "FREQ=DAILY;UNTIL=20261231",
            Rule("DAILY", until=datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ),
    ],
)
def test_parse_reads_the_supported_subset(text: str, rule: Rule) -> None:
    assert parse(text) == rule


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("freq=weekly;byday=fr,mo;interval=2", "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR,MO"),
        ("RRULE:COUNT=3;FREQ=DAILY", "FREQ=DAILY;COUNT=3"),
        ("FREQ=MONTHLY;INTERVAL=1", "FREQ=MONTHLY"),
        ("FREQ=DAILY;UNTIL=20270102T030405Z", "FREQ=DAILY;UNTIL=20270102T030405Z"),
    ],
)
def test_a_rule_prints_in_canonical_form_and_reads_back_the_same(text: str, canonical: str) -> None:
    rule = parse(text)
    assert str(rule) == canonical
    assert parse(str(rule)) == rule


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "FREQ must be"),
        ("INTERVAL=2", "FREQ must be"),
        ("FREQ=HOURLY", "a task recurs at most once a day"),
        ("FREQ=MINUTELY", "a task recurs at most once a day"),
        ("FREQ", "is not NAME=VALUE"),
        ("FREQ=", "is not NAME=VALUE"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ is given twice"),
        ("FREQ=DAILY;freq=DAILY", "FREQ is given twice"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY takes numbers from 1 to 31"),
        ("FREQ=DAILY;BYHOUR=9,10", "BYHOUR takes one value"),
        ("FREQ=MONTHLY;FOO=1", "FOO is not an RRULE part"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20261231", "COUNT and UNTIL cannot both be given"),
        ("FREQ=WEEKLY;BYDAY=1MO", "BYDAY takes ordinals .* only with FREQ=MONTHLY or YEARLY"),
        ("FREQ=WEEKLY;BYDAY=MO,,TU", "BYDAY takes weekdays"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number from 1 to 1000"),
        (f"FREQ=DAILY;INTERVAL={MAX_NUMBER + 1}", "INTERVAL must be"),
        ("FREQ=DAILY;COUNT=-1", "COUNT must be"),
        ("FREQ=DAILY;COUNT=1.5", "COUNT must be"),
        ("FREQ=DAILY;COUNT=two", "COUNT must be"),
        ("FREQ=DAILY;UNTIL=2026-12-31", "UNTIL must be a date"),
        ("FREQ=DAILY;UNTIL=20261231T235959", "UNTIL must be a date"),
        ("FREQ=DAILY;UNTIL=20261332", "UNTIL must be a date"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_problem(text: str, complaint: str) -> None:
    with pytest.raises(InvalidRule, match=complaint):
        parse(text)


@pytest.mark.parametrize("number", ["²", "٣", "+3"])
def test_a_number_in_other_than_ascii_digits_is_an_invalid_rule(number: str) -> None:
    with pytest.raises(InvalidRule, match="whole number"):
        parse(f"FREQ=DAILY;COUNT={number}")
    with pytest.raises(InvalidRule, match="whole number"):
        parse(f"FREQ=DAILY;INTERVAL={number}")


@pytest.mark.parametrize(
    ("text", "after"),
    [
        ("FREQ=DAILY", datetime(2026, 1, 6, 9, 30, tzinfo=UTC)),
        ("FREQ=DAILY;INTERVAL=3", datetime(2026, 1, 8, 9, 30, tzinfo=UTC)),
        ("FREQ=WEEKLY", datetime(2026, 1, 12, 9, 30, tzinfo=UTC)),
        ("FREQ=WEEKLY;INTERVAL=2", datetime(2026, 1, 19, 9, 30, tzinfo=UTC)),
        ("FREQ=WEEKLY;BYDAY=MO,WE", datetime(2026, 1, 7, 9, 30, tzinfo=UTC)),
        ("FREQ=WEEKLY;BYDAY=SU", datetime(2026, 1, 11, 9, 30, tzinfo=UTC)),
        ("FREQ=MONTHLY", datetime(2026, 2, 5, 9, 30, tzinfo=UTC)),
        ("FREQ=YEARLY", datetime(2027, 1, 5, 9, 30, tzinfo=UTC)),
    ],
)
def test_next_occurrence_follows_the_frequency_from_the_due_date(
    text: str, after: datetime
) -> None:
    rule = parse(text)
    assert next_occurrence(rule, MONDAY) == (after, rule)


def test_a_monthly_rule_on_the_31st_skips_the_months_without_one() -> None:
    due = datetime(2026, 1, 31, 12, tzinfo=UTC)
    found = next_occurrence(parse("FREQ=MONTHLY"), due)
    assert found is not None
    assert found[0] == datetime(2026, 3, 31, 12, tzinfo=UTC)


def test_count_counts_the_occurrences_left_down_to_the_last() -> None:
    rule = parse("FREQ=DAILY;COUNT=3")
    due = MONDAY
    seen = [due]
    while (found := next_occurrence(rule, due)) is not None:
        due, rule = found
        seen.append(due)
    assert seen == [datetime(2026, 1, day, 9, 30, tzinfo=UTC) for day in (5, 6, 7)]
    assert rule.count == 1
    assert str(rule) == "FREQ=DAILY;COUNT=1"


def test_until_ends_the_series_at_its_time() -> None:
    rule = parse("FREQ=DAILY;UNTIL=20260107T093000Z")
    assert next_occurrence(rule, MONDAY) == (datetime(2026, 1, 6, 9, 30, tzinfo=UTC), rule)
    assert next_occurrence(rule, datetime(2026, 1, 6, 9, 30, tzinfo=UTC)) == (
        datetime(2026, 1, 7, 9, 30, tzinfo=UTC),
        rule,
    )
    assert next_occurrence(rule, datetime(2026, 1, 7, 9, 30, tzinfo=UTC)) is None
    assert next_occurrence(rule, datetime(2026, 1, 6, 9, 31, tzinfo=UTC)) is None


def test_an_until_date_keeps_that_whole_day() -> None:
    rule = parse("FREQ=DAILY;UNTIL=20260106")
    assert rule.until == datetime.combine(datetime(2026, 1, 6).date(), time.max, UTC)
    late_evening = datetime(2026, 1, 5, 23, 59, tzinfo=UTC)
    assert next_occurrence(rule, late_evening) == (datetime(2026, 1, 6, 23, 59, tzinfo=UTC), rule)
    assert next_occurrence(rule, datetime(2026, 1, 6, 23, 59, tzinfo=UTC)) is None


def test_until_before_the_due_date_has_no_next_occurrence() -> None:
    assert next_occurrence(parse("FREQ=WEEKLY;UNTIL=20250101"), MONDAY) is None
