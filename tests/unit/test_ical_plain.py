"""A task with nothing kept from a client is written by hand (todo_api.ical.direct):
the bytes must be exactly those the icalendar path writes, for every shape of task; any
other shape is left to icalendar."""

import datetime as dt
import random
import string

import pytest
from icalendar import Calendar

from tests.unit.test_ical import task
from todo_api import ical
from todo_api.files.kinds import clean_name
from todo_api.ical import direct, reference
from todo_api.ical.mapping import Attached, to_ical

UTC = dt.UTC
# Zones with and without daylight saving time, half-hour and 45-minute offsets, links, a zone
# icalendar holds equal to UTC (written as UTC), and names that need their own VTIMEZONE.
ZONES = [
    "UTC",
    "Etc/UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/St_Johns",
    "America/Argentina/Buenos_Aires",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Asia/Calcutta",
    "Asia/Kathmandu",
    "Africa/Abidjan",
    "Etc/GMT+5",
    "Pacific/Kiritimati",
]
RULES = [
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    "FREQ=MONTHLY;BYDAY=-1FR;COUNT=12",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;UNTIL=20400101T000000Z",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;INTERVAL=2;WKST=SU;UNTIL=20991231T235959Z",
]
BEFORE_DUE = ["PT1M", "PT15M", "PT1H", "PT1H30M", "PT90S", "PT9H", "P1D", "P1DT12H", "P1W", "P30D"]
# What TEXT escaping and folding have to get right: its specials, line ends of every kind,
# `\N`, a caret, and characters of two, three and four UTF-8 octets.
PIECES = [
    *string.ascii_letters,
    *string.digits,
    " ",
    ",",
    ";",
    ":",
    "\\",
    "\\N",
    "\\n",
    "^",
    '"',
    "\n",
    "\r",
    "\r\n",
    "\t",
    "é",
    "ß",
    "日本",
    "€",
    "😀",
    "👩‍💻",
    "𝄞",
]


def text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, longest)))


def moment(rng: random.Random) -> dt.datetime:
    """An instant, given in UTC or in another zone's offset, with microseconds, from 1900
    (before most zones' standard time) to 2100."""
    instant = dt.datetime(1900, 1, 1, tzinfo=UTC) + dt.timedelta(
        seconds=rng.randint(0, 200 * 365 * 86400), microseconds=rng.randint(0, 999_999)
    )
    if rng.random() < 0.3:
        return instant.astimezone(dt.timezone(dt.timedelta(minutes=rng.randint(-720, 840))))
    return instant


def random_task(rng: random.Random) -> dict[str, object]:
    completed = rng.random() < 0.4
    due = rng.choice(["none", "date", "at", "at"])
    start = rng.choice(["none", "none", "date", "at"])
    created = moment(rng)
    reminders: list[dict[str, str]] = []
    for number in range(rng.randint(0, 3)):
        if rng.random() < 0.4:
            at = moment(rng).isoformat()
            reminders.append({"id": f"r{number}", "at": at.replace("+00:00", "Z")})
        else:
            reminders.append({"id": f"r{number}", "before_due": rng.choice(BEFORE_DUE)})
    return {
        "title": text(rng, rng.choice([10, 40, 200])),
        "description": rng.choice([None, "", text(rng, 30), text(rng, 400)]),
        "is_completed": completed,
        "completed_at": moment(rng) if completed and rng.random() < 0.9 else None,
        "priority": rng.randint(0, 3),
        "tags": [text(rng, 12) for _ in range(rng.choice([0, 0, 1, 3, 12]))],
        "due_at": moment(rng) if due == "at" else None,
        "due_date": dt.date(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28))
        if due == "date"
        else None,
        "start_at": moment(rng) if start == "at" else None,
        "start_date": dt.date(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28))
        if start == "date"
        else None,
        "timezone": rng.choice(ZONES),
        "recurrence": rng.choice([None, None, *RULES]),
        "next_occurrence_id": rng.choice([None, None, None, "a8f1"]),
        "reminders": reminders,
        "created_at": created,
        "updated_at": created + dt.timedelta(seconds=rng.randint(0, 10**8)),
        "version": rng.randint(1, 5),
        # A section's name, as CalDAV's rows have it (the key left out: rows that have none).
        **rng.choice([{}, {"section_name": None}, {"section_name": text(rng, 100)}]),
    }


def uid(rng: random.Random) -> str:
    return rng.choice([str(random.Random(rng.random()).getrandbits(128)), text(rng, 90)])


def assert_written_alike(
    task: dict[str, object], uid: str, parent_uid: str | None, files: list[Attached] | None = None
) -> None:
    plain = direct.write_plain(task, uid, parent_uid, files or ())
    assert plain is not None  # written by hand, not left to icalendar
    assert plain == reference.write(task, uid, parent_uid, None, files or ())
    assert ical.write(task, uid=uid, parent_uid=parent_uid, files=files or ()) == plain
    if files:
        return
    # The parts a calendar of many tasks (the ics export) takes: the same, by the same path.
    components = reference.object_components(task, uid, parent_uid, None)[1]
    assert ical.parts(task, uid=uid, parent_uid=parent_uid) == (
        [(zone, None) for zone in ical.zones_used(components)],
        b"".join(to_ical(component) for component in components),
    )


@pytest.mark.parametrize("seed", range(8))
def test_generated_tasks_are_written_as_icalendar_writes_them(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(400):
        parent = rng.choice([None, uid(rng)])
        assert_written_alike(random_task(rng), uid(rng), parent)


def random_files(rng: random.Random) -> list[Attached]:
    """A task's files as CalDAV writes them: names as uploads keep them (any character but
    control ones, quotes, carets, colons and semicolons included), types as sniffed."""
    kinds = ["text/plain", "image/png", "application/pdf", "application/vnd.ms-excel"]
    return [
        Attached(
            f"https://tasks.example.com/api/attachments/{rng.getrandbits(128):032x}/content",
            rng.choice(kinds),
            clean_name(text(rng, rng.choice([5, 40, 300]))),
        )
        for _ in range(rng.choice([0, 1, 1, 2, 5]))
    ]


@pytest.mark.parametrize("seed", range(4))
def test_tasks_with_files_are_written_as_icalendar_writes_them(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        files = random_files(rng)
        assert_written_alike(random_task(rng), uid(rng), rng.choice([None, uid(rng)]), files)
        [todo] = Calendar.from_ical(ical.write(base_task(), uid="u", files=files)).walk("VTODO")
        found = todo.get("ATTACH", [])
        found = found if isinstance(found, list) else [found]
        assert [
            Attached(str(value), value.params["FMTTYPE"], value.params["FILENAME"])
            for value in found
        ] == files  # read back as written, each name whole


def base_task(**fields: object) -> dict[str, object]:
    """A task row (test_ical's), made in the night of a DST change."""
    now = dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    return task(**{"created_at": now, "updated_at": now, **fields})


@pytest.mark.parametrize("length", range(55, 160))
@pytest.mark.parametrize("tail", ["😀", "é", "日", "\\", ",", "^", "\n", "\\N", "ab"])
def test_every_fold_boundary(length: int, tail: str) -> None:
    # SUMMARY (8 octets of name) and DESCRIPTION (12) put each tail at every place around
    # the first and second folds.
    for fill in ("x", "é"):
        title = fill * (length - 8) + tail * 3 + "y" * 10
        assert_written_alike(base_task(title=title, description=title), "u-1", None)


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(
    "due_at",
    [
        dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),  # Europe's clocks go forward at 1:00
        dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # Europe's repeated hour
        dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # New York's repeated hour
        dt.datetime(1901, 6, 1, 12, 0, tzinfo=UTC),  # local mean time
        dt.datetime(2100, 6, 1, 12, 0, tzinfo=UTC),
    ],
)
def test_due_times_in_every_kind_of_zone(zone: str, due_at: dt.datetime) -> None:
    reminders = [{"id": "r1", "before_due": "PT15M"}, {"id": "r2", "at": "2026-03-28T09:00Z"}]
    assert_written_alike(
        base_task(due_at=due_at, timezone=zone, reminders=reminders), "u-1", "parent"
    )


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(
    "start",
    [
        dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),
        dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        dt.datetime(1901, 6, 1, 12, 0, tzinfo=UTC),
        dt.date(2026, 3, 29),
    ],
)
def test_starts_in_every_kind_of_zone_with_and_without_a_due_time(
    zone: str, start: dt.date
) -> None:
    """DTSTART beside DUE (the two share the task's zone) and alone, as a Thunderbird task
    that repeats by its start."""
    when = {"start_at": start} if isinstance(start, dt.datetime) else {"start_date": start}
    for due in (
        {},
        {"due_at": dt.datetime(2026, 12, 1, 9, tzinfo=UTC)},
        {"due_date": dt.date(2026, 12, 1)},
    ):
        written = base_task(**when, **due, timezone=zone, recurrence="FREQ=WEEKLY")
        assert_written_alike(written, "u-1", None)
    alone = ical.write(base_task(**when, timezone=zone), uid="u-1")
    assert b"\r\nDUE" not in alone
    if not isinstance(start, dt.datetime):
        assert b"\r\nDTSTART;VALUE=DATE:20260329\r\n" in alone
    read = ical.read(alone, user_zone="UTC").fields
    assert (read["start_at"], read["start_date"]) == (
        (start.isoformat().replace("+00:00", "Z"), None)
        if isinstance(start, dt.datetime)
        else (None, start.isoformat())
    )


def test_all_day_reminders_and_a_recurrence_ended_by_its_next_occurrence() -> None:
    reminders = [{"id": f"r{n}", "before_due": before} for n, before in enumerate(BEFORE_DUE)]
    for next_occurrence in (None, "a8f1"):
        task = base_task(
            due_date=dt.date(2026, 12, 24),
            reminders=reminders,
            recurrence="FREQ=YEARLY",
            next_occurrence_id=next_occurrence,
            is_completed=True,
            completed_at=dt.datetime(2026, 12, 24, 8, tzinfo=UTC),
        )
        assert_written_alike(task, "u-1", None)
    written = ical.write(base_task(due_date=dt.date(2026, 12, 24), reminders=reminders), uid="u")
    assert b"TRIGGER;RELATED=END:-PT15H\r\n" in written  # P1D before: 09:00 the day before


def test_a_task_with_kept_client_text_is_written_by_icalendar() -> None:
    read = ical.read(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//c//EN\r\nBEGIN:VTODO\r\nUID:u-1\r\n"
        b"SUMMARY:Task\r\nX-CLIENT-COLOR:red\r\nSTATUS:IN-PROCESS\r\nEND:VTODO\r\n"
        b"END:VCALENDAR\r\n",
        user_zone="UTC",
    )
    task = base_task()
    written = ical.write(task, uid="u-1", extra=read.extra)
    assert written == reference.write(task, "u-1", None, read.extra)
    assert b"X-CLIENT-COLOR:red\r\n" in written
    assert b"STATUS:IN-PROCESS\r\n" in written  # kept, the task being open
    assert b"X-CLIENT-COLOR" not in direct.write_plain(task, "u-1", None)  # type: ignore[operator]


@pytest.mark.parametrize(
    "fields",
    [
        {"updated_at": dt.datetime(2026, 1, 1)},  # naive
        {"is_completed": True, "completed_at": dt.datetime(2026, 1, 1)},
        {"due_at": dt.datetime(2026, 1, 1)},
        {"due_date": dt.datetime(2026, 1, 1, tzinfo=UTC)},
        {"start_at": dt.datetime(2026, 1, 1)},
        {"start_date": dt.datetime(2026, 1, 1, tzinfo=UTC)},
        {"reminders": [{"id": "r1", "at": "2026-01-01T09:00"}]},
        {"priority": 7},
    ],
)
def test_other_shapes_are_left_to_icalendar(fields: dict[str, object]) -> None:
    task = base_task(**fields)
    assert direct.write_plain(task, "u-1", None) is None
    try:
        expected = reference.write(task, "u-1", None, None)
    except (KeyError, ValueError, TypeError) as exc:
        with pytest.raises(type(exc)):
            ical.write(task, uid="u-1")
    else:
        assert ical.write(task, uid="u-1") == expected
