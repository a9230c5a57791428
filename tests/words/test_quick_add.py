"""POST /api/tasks/quick and MCP's quick_add: every example of the contract, on both databases.

The clock the reader sees is fixed (Thursday 26 November 2026, 10:00 in Europe/Berlin, the
user's zone); each expected date is computed here from that "now", as a person counts.
"""

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.lists.helpers import create_list
from tests.lists.sharing import remove, share, user_id
from tests.tasks.helpers import assert_validation_error
from todo_api.words import clock

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZONE)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW.astimezone(UTC))


def weekday(index: int, *, today_included: bool = True) -> date:
    """The next Monday (0) .. Sunday (6) from TODAY."""
    ahead = (index - TODAY.weekday()) % 7
    return TODAY + timedelta(days=ahead if ahead or today_included else 7)


def next_date(month: int, day: int) -> date:
    candidate = date(TODAY.year, month, day)
    return candidate if candidate >= TODAY else date(TODAY.year + 1, month, day)


def next_day_of_month(day: int) -> date:
    candidate = TODAY.replace(day=day)
    if candidate >= TODAY:
        return candidate
    return date(TODAY.year + TODAY.month // 12, TODAY.month % 12 + 1, day)


def at(day: date, hour: int, minute: int = 0) -> dict[str, Any]:
    moment = datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)
    return {"due_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "due_date": None}


def on(day: date) -> dict[str, Any]:
    return {"due_date": day.isoformat(), "due_at": None}


TOMORROW = TODAY + timedelta(days=1)
END_OF_MONTH = TODAY.replace(day=calendar.monthrange(TODAY.year, TODAY.month)[1])

# (lang, text, the fields a person means); every date example of the contract, and their
# equivalents in each language.
DATES = [
    ("en", "today", on(TODAY)),
    ("en", "tonight", at(TODAY, 19)),
    ("en", "tomorrow", on(TOMORROW)),
    ("en", "tomorrow 5pm", at(TOMORROW, 17)),
    ("en", "fri", on(weekday(4))),
    ("en", "thu", on(TODAY)),  # today included
    ("en", "next monday", on(weekday(0, today_included=False))),
    ("en", "next thursday", on(TODAY + timedelta(days=7))),
    ("en", "in 3 days", on(TODAY + timedelta(days=3))),
    ("en", "in 2 weeks", on(TODAY + timedelta(days=14))),
    ("en", "on the 15th", on(next_day_of_month(15))),
    ("en", "jan 4", on(next_date(1, 4))),
    ("en", "4 Jan", on(next_date(1, 4))),
    ("en", "26 nov", on(TODAY)),  # today included
    ("en", "6 Apr 17:15", at(next_date(4, 6), 17, 15)),
    ("en", "2026-12-24", on(date(2026, 12, 24))),
    ("en", "24/12", on(next_date(12, 24))),
    ("en", "end of month", on(END_OF_MONTH)),
    ("en", "noon", at(TODAY, 12)),
    ("de", "morgen 17 Uhr", at(TOMORROW, 17)),
    ("de", "heute", on(TODAY)),
    ("de", "heute abend", at(TODAY, 19)),
    ("de", "übermorgen", on(TODAY + timedelta(days=2))),
    ("de", "nächsten Montag", on(weekday(0, today_included=False))),
    ("de", "in 3 Tagen", on(TODAY + timedelta(days=3))),
    ("de", "24.12.", on(next_date(12, 24))),
    ("de", "4. Jan", on(next_date(1, 4))),
    ("de", "Monatsende", on(END_OF_MONTH)),
    ("fr", "demain à 9h", at(TOMORROW, 9)),
    ("fr", "lundi prochain", on(weekday(0, today_included=False))),
    ("fr", "dans 3 jours", on(TODAY + timedelta(days=3))),
    ("fr", "24/12", on(next_date(12, 24))),
    ("fr", "ce soir", at(TODAY, 19)),
    ("fr", "fin du mois", on(END_OF_MONTH)),
    ("es", "mañana a las 9", at(TOMORROW, 9)),
    ("es", "pasado mañana", on(TODAY + timedelta(days=2))),
    ("es", "el próximo lunes", on(weekday(0, today_included=False))),
    ("es", "en 2 semanas", on(TODAY + timedelta(days=14))),
    ("es", "4 de enero", on(next_date(1, 4))),
    ("it", "domani alle 9", at(TOMORROW, 9)),
    ("it", "lunedì prossimo", on(weekday(0, today_included=False))),
    ("it", "tra 3 giorni", on(TODAY + timedelta(days=3))),
    ("pt", "amanhã às 9", at(TOMORROW, 9)),
    ("pt", "hoje à noite", at(TODAY, 19)),
    ("pt", "próxima segunda", on(weekday(0, today_included=False))),
    ("pt", "dia 15", on(next_day_of_month(15))),
    ("nl", "morgen om 9 uur", at(TOMORROW, 9)),
    ("nl", "volgende maandag", on(weekday(0, today_included=False))),
    ("nl", "over 3 dagen", on(TODAY + timedelta(days=3))),
]

MONDAY = weekday(0)
RULES = [
    ("en", "every day", "FREQ=DAILY", on(TODAY)),
    ("en", "daily", "FREQ=DAILY", on(TODAY)),
    ("en", "every weekday", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", on(TODAY)),
    ("en", "every other week", "FREQ=WEEKLY;INTERVAL=2", on(TODAY)),
    ("en", "every 2 weeks on mon, thu", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", on(TODAY)),
    ("en", "every month on the 15th", "FREQ=MONTHLY;BYMONTHDAY=15", on(next_day_of_month(15))),
    ("en", "every last friday", "FREQ=MONTHLY;BYDAY=-1FR", on(date(2026, 11, 27))),
    ("en", "every 3rd tuesday", "FREQ=MONTHLY;BYDAY=3TU", on(date(2026, 12, 15))),
    (
        "en",
        "every year on dec 25",
        "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25",
        on(next_date(12, 25)),
    ),
    ("en", "every monday at 9am", "FREQ=WEEKLY;BYDAY=MO", at(MONDAY, 9)),
    ("en", "every 3 days starting jan 10", "FREQ=DAILY;INTERVAL=3", on(next_date(1, 10))),
    ("en", "every month until june", "FREQ=MONTHLY;UNTIL=20270630", on(TODAY)),
    ("en", "ev sun", "FREQ=WEEKLY;BYDAY=SU", on(weekday(6))),
    ("en", "ev 2 weeks", "FREQ=WEEKLY;INTERVAL=2", on(TODAY)),
    ("en", "every other monday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", on(MONDAY)),
    ("en", "every day at 9am", "FREQ=DAILY", at(TOMORROW, 9)),  # 9:00 today is past
    ("de", "jeden Montag", "FREQ=WEEKLY;BYDAY=MO", on(MONDAY)),
    ("de", "alle 2 Wochen", "FREQ=WEEKLY;INTERVAL=2", on(TODAY)),
    ("fr", "tous les jours", "FREQ=DAILY", on(TODAY)),
    ("fr", "chaque lundi à 9h", "FREQ=WEEKLY;BYDAY=MO", at(MONDAY, 9)),
    ("es", "cada lunes", "FREQ=WEEKLY;BYDAY=MO", on(MONDAY)),
    ("it", "ogni giorno", "FREQ=DAILY", on(TODAY)),
    ("pt", "todos os dias", "FREQ=DAILY", on(TODAY)),
    ("nl", "elke maandag", "FREQ=WEEKLY;BYDAY=MO", on(MONDAY)),
]


async def quick(client: httpx.AsyncClient, text: str, **fields: Any) -> httpx.Response:
    return await client.post("/api/tasks/quick", json={"text": text, **fields})


async def berliner(client: httpx.AsyncClient) -> httpx.AsyncClient:
    response = await client.patch("/api/auth/me", json={"timezone": "Europe/Berlin"})
    assert response.status_code == 200, response.text
    return client


@pytest.mark.parametrize(("lang", "phrase", "expected"), DATES)
async def test_dates(
    alice: httpx.AsyncClient, lang: str, phrase: str, expected: dict[str, Any]
) -> None:
    await berliner(alice)
    text = f"Call the bank {phrase}"
    response = await quick(alice, text, lang=lang)
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["title"] == "Call the bank"
    assert {"due_at": task["due_at"], "due_date": task["due_date"]} == expected
    assert task["recurrence"] is None
    start = text.index(phrase)
    [span] = task["parsed"]
    assert (span["start"], span["end"], span["kind"]) == (start, start + len(phrase), "due")


@pytest.mark.parametrize(("lang", "phrase", "rule", "expected"), RULES)
async def test_recurrences(
    alice: httpx.AsyncClient, lang: str, phrase: str, rule: str, expected: dict[str, Any]
) -> None:
    await berliner(alice)
    response = await quick(alice, f"Water the plants {phrase}", lang=lang)
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["title"] == "Water the plants"
    # The service keeps an all-day UNTIL as the end of its day in UTC.
    assert task["recurrence"] == re.sub(r"UNTIL=(\d{8})$", r"UNTIL=\1T235959Z", rule)
    assert {"due_at": task["due_at"], "due_date": task["due_date"]} == expected
    assert [span["kind"] for span in task["parsed"]] == ["recurrence"]
    assert task["parsed"][0]["value"] == rule


async def test_everything_at_once(alice: httpx.AsyncClient) -> None:
    """Todoist's example: the list, priority and rule read, spans for each, title tidied."""
    await berliner(alice)
    home = await create_list(alice, "Home")
    text = "Pay rent every month on the 1st #home p1 @bills"
    response = await quick(alice, text)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/api/tasks/{response.json()['id']}"
    assert response.headers["etag"]
    task = response.json()
    assert task["title"] == "Pay rent"
    assert task["list_id"] == home["id"]
    assert task["priority"] == "high"
    assert task["tags"] == ["bills"]
    assert task["recurrence"] == "FREQ=MONTHLY;BYMONTHDAY=1"
    assert task["due_date"] == "2026-12-01"
    assert task["parsed"] == [
        {"start": 9, "end": 31, "kind": "recurrence", "value": "FREQ=MONTHLY;BYMONTHDAY=1"},
        {"start": 32, "end": 37, "kind": "list", "value": "home"},
        {"start": 38, "end": 40, "kind": "priority", "value": "high"},
        {"start": 41, "end": 47, "kind": "tag", "value": "bills"},
    ]
    stored = (await alice.get(f"/api/tasks/{task['id']}")).json()
    assert stored == {key: value for key, value in task.items() if key != "parsed"}


@pytest.mark.parametrize(
    ("priority", "name"), [("p1", "high"), ("p2", "medium"), ("p3", "low"), ("p4", "none")]
)
async def test_priorities(alice: httpx.AsyncClient, priority: str, name: str) -> None:
    response = await quick(alice, f"Fix the roof {priority}")
    assert response.status_code == 201, response.text
    assert (response.json()["title"], response.json()["priority"]) == ("Fix the roof", name)


async def test_a_quoted_list_name(alice: httpx.AsyncClient) -> None:
    office = await create_list(alice, "Home office")
    response = await quick(alice, 'Order a lamp #"home OFFICE"')
    assert response.status_code == 201, response.text
    assert response.json()["list_id"] == office["id"]
    assert response.json()["title"] == "Order a lamp"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ('Read "1984" tomorrow', 'Read "1984"'),
        ('Watch "The day after tomorrow"', 'Watch "The day after tomorrow"'),
        ("Watch \\tomorrow never dies", "Watch tomorrow never dies"),
        ('Email "p1" and "#home" @later', 'Email "p1" and "#home"'),
    ],
)
async def test_protected_text(alice: httpx.AsyncClient, text: str, title: str) -> None:
    response = await quick(alice, text)
    assert response.status_code == 201, response.text
    assert response.json()["title"] == title
    kinds = [span["kind"] for span in response.json()["parsed"]]
    assert "list" not in kinds
    assert "priority" not in kinds


async def test_the_language_comes_from_accept_language(alice: httpx.AsyncClient) -> None:
    await berliner(alice)
    headers = {"Accept-Language": "ja, de-CH;q=0.9, fr;q=0.8"}
    response = await alice.post(
        "/api/tasks/quick", json={"text": "Zahnarzt morgen 17 Uhr"}, headers=headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "Zahnarzt"
    assert response.json()["due_at"] == at(TOMORROW, 17)["due_at"]
    # English without a header: "morgen" is a word of the title.
    response = await quick(alice, "Zahnarzt morgen")
    assert response.json()["title"] == "Zahnarzt morgen"


async def test_list_id_and_no_date(alice: httpx.AsyncClient) -> None:
    errands = await create_list(alice, "Errands")
    response = await quick(alice, "Buy milk", list_id=errands["id"])
    assert response.status_code == 201, response.text
    task = response.json()
    assert (task["title"], task["list_id"], task["parsed"]) == ("Buy milk", errands["id"], [])
    assert task["due_at"] is None
    assert task["due_date"] is None


async def test_an_unknown_or_view_only_list_is_400_naming_text(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    response = await quick(alice, "Buy milk #Nowhere")
    [detail] = assert_validation_error(response, "text")
    assert "#Nowhere" in detail["message"]
    assert "9 to 17" in detail["message"]
    shared = await create_list(bob, "Shared")
    await share(bob, alice, shared["id"], role="viewer")
    response = await quick(alice, "Buy milk #shared")
    [detail] = assert_validation_error(response, "text")
    assert "only view" in detail["message"]
    editable = await create_list(bob, "Editable")
    await share(bob, alice, editable["id"], role="editor")
    response = await quick(alice, "Buy milk #EDITABLE")
    assert response.status_code == 201, response.text
    assert response.json()["list_id"] == editable["id"]
    await remove(bob, editable["id"], await user_id(alice))  # an ex-member
    [detail] = assert_validation_error(await quick(alice, "Buy milk #EDITABLE"), "text")
    assert "no list of yours" in detail["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "x" * 1001},
        {"text": "tomorrow p1 @home"},  # nothing left for a title
        {"text": "y" * 201 + " tomorrow"},
        {"text": "Buy milk", "lang": "ja"},
        {"text": "Call \u0000 tomorrow"},
        {"text": "Meet every 999 years"},  # no occurrence within 10 years: the service's rule
        {"text": "Tidy every 3rd tuesday until december"},  # one occurrence only
        {"text": "Buy milk @" + "b" * 60},  # a tag over 50 characters
    ],
)
async def test_bad_text(alice: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await alice.post("/api/tasks/quick", json=body)
    field = "lang" if "lang" in body else "text"
    assert_validation_error(response, field)


async def test_idempotency_key_replays(alice: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "quick-1"}
    body = {"text": "Buy bread tomorrow"}
    first = await alice.post("/api/tasks/quick", json=body, headers=headers)
    again = await alice.post("/api/tasks/quick", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    listed = (await alice.get("/api/tasks")).json()
    assert [task["id"] for task in listed] == [first.json()["id"]]


async def test_isolation(alice: httpx.AsyncClient, bob: httpx.AsyncClient) -> None:
    await create_list(bob, "Bobs")
    response = await quick(alice, "Peek #Bobs")
    assert_validation_error(response, "text")


async def test_the_callers_own_list_comes_before_a_shared_one_of_the_same_name(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    theirs = await create_list(bob, "Home")
    await share(bob, alice, theirs["id"], role="editor")
    mine = await create_list(alice, "HOME")
    response = await quick(alice, "Fix the door #home")
    assert response.status_code == 201, response.text
    assert response.json()["list_id"] == mine["id"]


async def german(client: httpx.AsyncClient) -> httpx.AsyncClient:
    response = await client.patch(
        "/api/auth/me", json={"timezone": "Europe/Berlin", "language": "de"}
    )
    assert response.status_code == 200, response.text
    return client


async def test_the_persons_own_language_comes_before_the_browsers(
    alice: httpx.AsyncClient,
) -> None:
    """A German profile in an English browser reads German; English is read too; `lang`
    still says which language first."""
    await german(alice)
    english = {"Accept-Language": "en-US,en;q=0.9"}
    text = "Steuererklärung abgeben morgen um 10 Uhr"
    for path in ("/api/tasks/quick", "/api/tasks/quick/preview"):
        response = await alice.post(path, json={"text": text}, headers=english)
        assert response.status_code in (200, 201), response.text
        assert response.json()["title"] == "Steuererklärung abgeben"
        assert response.json()["due_at"] == at(TOMORROW, 10)["due_at"]
    response = await alice.post(
        "/api/tasks/quick", json={"text": "Zahnarzt tomorrow 5pm"}, headers=english
    )
    assert (response.json()["title"], response.json()["due_at"]) == (
        "Zahnarzt",
        at(TOMORROW, 17)["due_at"],
    )
    # `lang` given: English first ("morgen" is no English word, but German is not read).
    response = await quick(alice, "Zahnarzt morgen", lang="en")
    assert response.json()["title"] == "Zahnarzt morgen"


async def test_english_is_read_in_every_language(alice: httpx.AsyncClient) -> None:
    await berliner(alice)
    response = await quick(alice, "Rapport tomorrow at 5pm", lang="fr")
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "Rapport"
    assert response.json()["due_at"] == at(TOMORROW, 17)["due_at"]


# (lang, text, its title, the joining word that leaves with the date)
JOINED = [
    ("en", "Renew passport by March 15", "Renew passport", "by"),
    ("en", "Send the report due tomorrow", "Send the report", "due"),
    ("en", "Pay rent by fri", "Pay rent", "by"),
    ("de", "Geschenk für Lisa am 12.12.", "Geschenk für Lisa", "am"),
    ("de", "Bericht bis Freitag", "Bericht", "bis"),
    ("fr", "Rapport pour le 12 décembre", "Rapport", "pour"),
    ("es", "Informe para el 15 de diciembre", "Informe", "para"),
    ("it", "Pagare entro il 15 dicembre", "Pagare", "entro"),
    ("pt", "Pagar até 15 de dezembro", "Pagar", "até"),
    ("pt", "Ligar em 3 dias", "Ligar", "em"),
    ("nl", "Verslag voor 12 december", "Verslag", "voor"),
    ("nl", "Bellen op vrijdag", "Bellen", "op"),
]


@pytest.mark.parametrize(("lang", "text", "title", "joining"), JOINED)
async def test_a_joining_word_leaves_with_its_date(
    alice: httpx.AsyncClient, lang: str, text: str, title: str, joining: str
) -> None:
    await berliner(alice)
    response = await quick(alice, text, lang=lang)
    assert response.status_code == 201, response.text
    assert response.json()["title"] == title
    [span] = response.json()["parsed"]
    assert (span["start"], span["end"]) == (text.index(f" {joining} ") + 1, len(text))


@pytest.mark.parametrize(
    "text", ["Talk to Bob about taxes", "Call mom at", "Meet Anna by the river", "Il 2012/8/10"]
)
async def test_a_joining_word_not_before_a_date_stays(alice: httpx.AsyncClient, text: str) -> None:
    response = await quick(alice, text, lang="it" if text.startswith("Il") else "en")
    assert response.status_code == 201, response.text
    assert response.json()["title"] == text.split(" 2012")[0]


NOW_PLUS = {
    "3h": at(TODAY, 13),
    "30min": at(TODAY, 10, 30),
    "1h": at(TODAY, 11),
}
THIS_WEEKEND, NEXT_WEEKEND = weekday(5), weekday(5) + timedelta(days=7)
YESTERDAY = TODAY - timedelta(days=1)
# (lang, phrase, the fields a person means): the contract's "More of what people type".
MORE = [
    ("en", "in 3 hours", NOW_PLUS["3h"]),
    ("en", "in 30 minutes", NOW_PLUS["30min"]),
    ("en", "in an hour", NOW_PLUS["1h"]),
    ("en", "this weekend", on(THIS_WEEKEND)),
    ("en", "next weekend", on(NEXT_WEEKEND)),
    ("en", "yesterday", on(YESTERDAY)),
    ("en", "3p", at(TODAY, 15)),
    ("en", "3:18a", at(TODAY, 3, 18)),
    ("en", "at 1030", at(TODAY, 10, 30)),
    ("en", "3 o'clock", at(TODAY, 3)),
    ("en", "midday", at(TODAY, 12)),
    ("en", "mid day", at(TODAY, 12)),
    ("de", "in 3 Stunden", NOW_PLUS["3h"]),
    ("de", "in einer Stunde", NOW_PLUS["1h"]),
    ("de", "dieses Wochenende", on(THIS_WEEKEND)),
    ("de", "nächstes Wochenende", on(NEXT_WEEKEND)),
    ("de", "gestern", on(YESTERDAY)),
    ("fr", "dans 30 minutes", NOW_PLUS["30min"]),
    ("fr", "dans une heure", NOW_PLUS["1h"]),
    ("fr", "ce week-end", on(THIS_WEEKEND)),
    ("fr", "le week-end prochain", on(NEXT_WEEKEND)),
    ("fr", "hier", on(YESTERDAY)),
    ("es", "en 3 horas", NOW_PLUS["3h"]),
    ("es", "este fin de semana", on(THIS_WEEKEND)),
    ("es", "el próximo fin de semana", on(NEXT_WEEKEND)),
    ("es", "ayer", on(YESTERDAY)),
    ("it", "tra 30 minuti", NOW_PLUS["30min"]),
    ("it", "tra un'ora", NOW_PLUS["1h"]),
    ("it", "questo fine settimana", on(THIS_WEEKEND)),
    ("it", "ieri", on(YESTERDAY)),
    ("pt", "em uma hora", NOW_PLUS["1h"]),
    ("pt", "este fim de semana", on(THIS_WEEKEND)),
    ("pt", "ontem", on(YESTERDAY)),
    ("nl", "over 3 uur", NOW_PLUS["3h"]),
    ("nl", "volgend weekend", on(NEXT_WEEKEND)),
    ("nl", "gisteren", on(YESTERDAY)),
]


@pytest.mark.parametrize(("lang", "phrase", "expected"), MORE)
async def test_more_of_what_people_type(
    alice: httpx.AsyncClient, lang: str, phrase: str, expected: dict[str, Any]
) -> None:
    await test_dates(alice, lang, phrase, expected)


@pytest.mark.parametrize(
    ("lang", "phrase", "hour"),
    [
        ("en", "every morning", 9),
        ("en", "every evening", 19),
        ("de", "jeden Morgen", 9),
        ("fr", "tous les soirs", 19),
        ("es", "cada mañana", 9),
        ("it", "ogni mattina", 9),
        ("pt", "todas as noites", 19),
        ("nl", "elke avond", 19),
    ],
)
async def test_every_morning_and_evening(
    alice: httpx.AsyncClient, lang: str, phrase: str, hour: int
) -> None:
    """Daily at 09:00 or 19:00: the first occurrence still to come (09:00 has passed)."""
    await berliner(alice)
    response = await quick(alice, f"Stretch {phrase}", lang=lang)
    assert response.status_code == 201, response.text
    task = response.json()
    assert (task["title"], task["recurrence"]) == ("Stretch", "FREQ=DAILY")
    first = TOMORROW if hour == 9 else TODAY
    assert task["due_at"] == at(first, hour)["due_at"]
