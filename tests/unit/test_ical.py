"""The VTODO mapping (todo_api.ical) on its own: what each property becomes, and what a
task is written as, with what the mapping does not cover given back."""

import datetime as dt

import pytest
from icalendar import Calendar

from todo_api import ical

UTC = dt.UTC


def calendar(*lines: str) -> bytes:
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//tests//EN",
            "BEGIN:VTODO",
            "UID:u-1",
            "SUMMARY:Task",
            *lines,
            "END:VTODO",
            "END:VCALENDAR",
            "",
        ]
    ).encode()


def task(**fields: object) -> dict[str, object]:
    now = dt.datetime(2026, 11, 1, tzinfo=UTC)
    return {
        "title": "Task",
        "description": None,
        "is_completed": False,
        "completed_at": None,
        "priority": 0,
        "tags": [],
        "due_at": None,
        "due_date": None,
        "start_at": None,
        "start_date": None,
        "timezone": "UTC",
        "recurrence": None,
        "reminders": [],
        "next_occurrence_id": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        **fields,
    }


@pytest.mark.parametrize(
    ("line", "priority"),
    [
        ("PRIORITY:1", "high"),
        ("PRIORITY:4", "high"),
        ("PRIORITY:5", "medium"),
        ("PRIORITY:6", "low"),
        ("PRIORITY:9", "low"),
        ("PRIORITY:0", "none"),
        ("X-NONE:1", "none"),
    ],
)
def test_priorities_map_to_the_four_levels(line: str, priority: str) -> None:
    assert ical.read(calendar(line), user_zone="UTC").fields["priority"] == priority


def test_an_all_day_reminder_counts_back_from_nine() -> None:
    read = ical.read(
        calendar(
            "DUE;VALUE=DATE:20261224",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "TRIGGER;RELATED=END:PT8H30M",
            "END:VALARM",
        ),
        user_zone="UTC",
    )
    assert read.fields["due_date"] == "2026-12-24"
    assert read.fields["reminders"] == [{"before_due": "PT30M"}]
    written = ical.write(
        task(due_date=dt.date(2026, 12, 24), reminders=[{"id": "r", "before_due": "PT1H"}]),
        uid="u-1",
    )
    [alarm] = Calendar.from_ical(written).walk("VALARM")
    assert alarm["TRIGGER"].dt == dt.timedelta(hours=8)
    assert alarm["TRIGGER"].params["RELATED"] == "END"


def test_a_floating_due_time_is_read_in_the_users_zone() -> None:
    read = ical.read(calendar("DUE:20261224T090000"), user_zone="Europe/Berlin")
    assert read.fields["due_at"] == "2026-12-24T08:00:00Z"
    assert "timezone" not in read.fields
    utc = ical.read(calendar("DUE:20261224T090000Z"), user_zone="Europe/Berlin")
    assert utc.fields["due_at"] == "2026-12-24T09:00:00Z"


def test_a_task_is_written_with_its_zone_and_completion() -> None:
    written = ical.write(
        task(
            due_at=dt.datetime(2026, 12, 24, 8, tzinfo=UTC),
            timezone="Europe/Berlin",
            is_completed=True,
            completed_at=dt.datetime(2026, 12, 1, tzinfo=UTC),
            priority=1,
            tags=["home"],
        ),
        uid="u-1",
        parent_uid="parent",
    )
    parsed = Calendar.from_ical(written)
    [todo] = parsed.walk("VTODO")
    assert todo["DUE"].params["TZID"] == "Europe/Berlin"
    assert todo["DUE"].dt == dt.datetime(2026, 12, 24, 8, tzinfo=UTC)
    assert str(todo["STATUS"]) == "COMPLETED"
    assert int(todo["PRIORITY"]) == 9
    assert str(todo["RELATED-TO"]) == "parent"
    assert [str(c) for c in todo["CATEGORIES"].cats] == ["home"]
    assert [str(tz["TZID"]) for tz in parsed.walk("VTIMEZONE")] == ["Europe/Berlin"]


def test_what_the_mapping_does_not_cover_is_given_back() -> None:
    read = ical.read(
        calendar("X-ONE:a,b;c", "STATUS:IN-PROCESS", "RELATED-TO;RELTYPE=SIBLING:other"),
        user_zone="UTC",
    )
    assert read.fields["is_completed"] is False
    [todo] = Calendar.from_ical(ical.write(task(), uid="u-1", extra=read.extra)).walk("VTODO")
    assert str(todo["X-ONE"]) == "a,b;c"
    assert str(todo["STATUS"]) == "IN-PROCESS"
    assert str(todo["RELATED-TO"]) == "other"
    done = ical.write(task(is_completed=True), uid="u-1", extra=read.extra)
    assert str(Calendar.from_ical(done).walk("VTODO")[0]["STATUS"]) == "COMPLETED"


@pytest.mark.parametrize("title", ["Back up C:\\Nightly", "a\\nb", "x\\N, y; z\\"])
def test_a_backslash_is_written_as_typed(title: str) -> None:
    """A literal backslash followed by N or n is text, not a line break, whoever writes it: the
    direct path, icalendar's (a task holding client text), and a kept client property."""
    kept = ical.read(calendar("X-PATH:C:\\\\Nightly"), user_zone="UTC")
    for extra in (None, kept.extra):
        written = ical.write(task(title=title, description=title), uid="u-1", extra=extra)
        read = ical.read(written, user_zone="UTC")
        assert (read.fields["title"], read.fields["description"]) == (title, title)
    assert b"\r\nX-PATH:C:\\\\Nightly\r\n" in written  # as the client sent it


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x0b", "\x1f", "\x7f", "\ufffe"])
def test_a_control_character_is_refused(character: str) -> None:
    with pytest.raises(ical.CalendarDataError, match="control character"):
        ical.read(calendar(f"X-FOO:a{character}b"), user_zone="UTC")


@pytest.mark.parametrize("name", ["SUMMARY", "DESCRIPTION", "DUE", "UID", "STATUS", "RRULE"])
def test_a_property_that_occurs_once_is_refused_twice(name: str) -> None:
    value = {"DUE": "20261224T090000Z", "RRULE": "FREQ=DAILY", "STATUS": "COMPLETED"}
    line = f"{name}:{value.get(name, 'again')}"
    with pytest.raises(ical.CalendarDataError, match=f"{name} more than once"):
        ical.read(calendar(line, line), user_zone="UTC")
