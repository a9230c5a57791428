"""What other readers read (chrono-node's and Vikunja's suites), by category, through POST
/api/tasks/quick on both databases: each phrase gives its date (and time, on the user's clock)
and leaves the title. bench/peer_dates.py measures the agreement over the whole suite.

The clock is Thursday 26 November 2026, 10:00 in Europe/Berlin (the user's zone).
"""

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from tests.words.test_quick_add import NOW, at, berliner, on, quick
from todo_api.kit.words import clock

NEXT_MONDAY = date(2026, 11, 30)
NEXT_YEAR = date(2027, 1, 1)
TOMORROW = date(2026, 11, 27)
TODAY = date(2026, 11, 26)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW.astimezone(UTC))


CATEGORIES = {
    "a weekday written with its date is the date": [
        ("en", "Sunday, December 7, 2014", on(date(2014, 12, 7))),
        ("fr", "Dimanche 7 décembre 2014", on(date(2014, 12, 7))),
        ("en", "Tuesday 10 January", on(date(2027, 1, 10))),
        ("en", "Sun 15Sep", on(date(2027, 9, 15))),
        ("it", "martedì 10 gennaio", on(date(2027, 1, 10))),  # 10 is the day, not 10:00
        ("fr", "mar 10 janvier", on(date(2027, 1, 10))),
        ("de", "Di, 10. Januar", on(date(2027, 1, 10))),
        ("es", "el martes, 10 de enero", on(date(2027, 1, 10))),
        ("nl", "zondag 7/12/2014", on(date(2014, 12, 7))),
        ("fr", "mardi 10", on(date(2026, 12, 10))),  # a number after a weekday: its day
        ("en", "friday 10", on(date(2026, 12, 10))),
        ("en", "friday 5 pm", at(TOMORROW, 17)),  # a time is still a time
        ("de", "Freitag 17 Uhr", at(TOMORROW, 17)),
    ],
    "a weekday of next week": [
        ("en", "friday next week", on(date(2026, 12, 4))),
        ("en", "tuesday of next week", on(date(2026, 12, 1))),
        ("en", "Tuesday, next week", on(date(2026, 12, 1))),
        ("de", "am Freitag nächste Woche", on(date(2026, 12, 4))),
        ("nl", "volgende week vrijdag", on(date(2026, 12, 4))),
        ("nl", "op volgende week dinsdag", on(date(2026, 12, 1))),
    ],
    "next year is its 1 January": [
        ("en", "next year", on(NEXT_YEAR)),
        ("fr", "l'année prochaine", on(NEXT_YEAR)),
        ("it", "l'anno prossimo", on(NEXT_YEAR)),
        ("de", "nächstes Jahr", on(NEXT_YEAR)),
        ("de", "kommendes Jahr", on(NEXT_YEAR)),
        ("es", "el año que viene", on(NEXT_YEAR)),
        ("pt", "o próximo ano", on(NEXT_YEAR)),
        ("nl", "volgend jaar", on(NEXT_YEAR)),
    ],
    "parts of the day": [
        ("en", "tomorrow morning", at(TOMORROW, 9)),
        ("en", "this afternoon", at(TODAY, 15)),
        ("en", "this evening", at(TODAY, 19)),
        ("en", "Tuesday morning", at(date(2026, 12, 1), 9)),
        ("de", "heute Abend", at(TODAY, 19)),
        ("de", "morgen Morgen", at(TOMORROW, 9)),
        ("de", "heute Nachmittag", at(TODAY, 15)),
        ("it", "domani a mezzogiorno", at(TOMORROW, 12)),
        ("it", "stamattina", at(TODAY, 9)),
        ("es", "esta mañana", at(TODAY, 9)),
        ("es", "esta tarde", at(TODAY, 15)),
        ("fr", "ce matin", at(TODAY, 9)),
        ("fr", "demain soir", at(TOMORROW, 19)),
        ("pt", "amanhã de manhã", at(TOMORROW, 9)),
        ("nl", "morgenochtend", at(TOMORROW, 9)),
        ("nl", "deze avond", at(TODAY, 19)),
    ],
    "after tonight or an evening, an hour from 1 to 11 is p.m.": [
        ("en", "tonight at 8", at(TODAY, 20)),
        ("en", "this afternoon at 3", at(TODAY, 15)),
        ("de", "heute Abend um 8", at(TODAY, 20)),
        ("de", "8 Uhr abends", at(TODAY, 20)),
        ("es", "esta noche a las 8", at(TODAY, 20)),
        ("pt", "esta noite às 8", at(TODAY, 20)),
        ("en", "6 in the afternoon", at(TODAY, 18)),
    ],
    "times as each language writes them": [
        ("fr", "8h10 PM", at(TODAY, 20, 10)),
        ("fr", "5h16 p.m.", at(TODAY, 17, 16)),
        ("fr", "8h10m", at(TODAY, 8, 10)),
        ("de", "17.30 Uhr", at(TODAY, 17, 30)),
        ("nl", "9u", at(TODAY, 9)),
        ("es", "a las 6.13 AM", at(TODAY, 6, 13)),
        ("en", "today @ 3pm", at(TODAY, 15)),  # Vikunja's "@": at
    ],
    "dates as people write them": [
        ("nl", "31ste maart 2016", on(date(2016, 3, 31))),
        ("en", "23rd", on(date(2026, 12, 23))),
        ("en", "15Sep", on(date(2027, 9, 15))),
        ("de", "15.Sep", on(date(2027, 9, 15))),
        ("fr", "15juin 2027", on(date(2027, 6, 15))),
        ("it", "2012-8-10", on(date(2012, 8, 10))),
        ("en", "2012/8/10", on(date(2012, 8, 10))),
        ("en", "2012/Aug/10", on(date(2012, 8, 10))),
        ("en", "2018 March 18", on(date(2018, 3, 18))),
        ("en", "8/Oct/2012", on(date(2012, 10, 8))),
        ("en", "Sunday, March, 6th 2016", on(date(2016, 3, 6))),
        ("it", "sabato 30 aprile 2016, 10:00", at(date(2016, 4, 30), 10)),
        ("de", "1.2.", on(date(2027, 2, 1))),
        ("de", "1.2.2027", on(date(2027, 2, 1))),
        ("en", "01.02.2027", on(date(2027, 2, 1))),  # with its year, in English too
    ],
}
CASES = [
    pytest.param(lang, phrase, expected, id=f"{lang}: {phrase}")
    for cases in CATEGORIES.values()
    for lang, phrase, expected in cases
]


@pytest.mark.parametrize(("lang", "phrase", "expected"), CASES)
async def test_a_phrase_gives_its_date_and_leaves_the_title(
    alice: httpx.AsyncClient, lang: str, phrase: str, expected: dict[str, Any]
) -> None:
    await berliner(alice)
    response = await quick(alice, f"Call the bank {phrase}", lang=lang)
    assert response.status_code == 201, response.text
    task = response.json()
    assert {"due_at": task["due_at"], "due_date": task["due_date"]} == expected
    assert task["title"] == "Call the bank"
    [span] = task["parsed"]
    assert (span["start"], span["end"]) == (len("Call the bank "), len(f"Call the bank {phrase}"))


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "The 1.2 formula"),  # English writes no dates with dots
        ("de", "Die 1.2 Formel"),  # a date with dots is 1.2. or 1.2.2027, never 1.2
        ("en", "Lorem 01.02 Ipsum"),
        ("de", "Version 17.30 testen"),  # a time with a dot needs its Uhr
        ("nl", "Versie 2.15 testen"),
    ],
)
async def test_a_number_with_a_dot_in_prose_keeps_its_title(
    alice: httpx.AsyncClient, lang: str, text: str
) -> None:
    response = await quick(alice, text, lang=lang)
    assert response.status_code == 201, response.text
    task = response.json()
    assert (task["title"], task["due_date"], task["due_at"], task["parsed"]) == (
        text,
        None,
        None,
        [],
    )


def test_the_clock_is_a_thursday() -> None:
    assert NOW.date() == TODAY
    assert TODAY.weekday() == 3
    assert NEXT_MONDAY.weekday() == 0
    assert datetime.combine(TOMORROW, datetime.min.time()).weekday() == 4
