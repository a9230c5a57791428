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
from todo_api.words import clock

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
    "ordinal weekdays and days of a month": [
        ("en", "the first Monday of next month", on(date(2026, 12, 7))),
        ("fr", "dernier jour d'octobre 2015", on(date(2015, 10, 31))),
        ("it", "l'ultimo giorno dell'ottobre 2015", on(date(2015, 10, 31))),
        ("en", "the third Tuesday of September 2014", on(date(2014, 9, 16))),
        ("en", "last day of October", on(date(2027, 10, 31))),
        ("en", "first tuesday in december", on(date(2026, 12, 1))),
        ("de", "letzter Montag im März", on(date(2027, 3, 29))),
        ("de", "dritter Dienstag im September 2014", on(date(2014, 9, 16))),
        ("fr", "le dernier lundi de mars", on(date(2027, 3, 29))),
        ("es", "el tercer martes de septiembre de 2014", on(date(2014, 9, 16))),
        ("it", "l'ultimo giorno di ottobre 2015", on(date(2015, 10, 31))),
        ("pt", "terceira terça-feira de setembro de 2014", on(date(2014, 9, 16))),
        ("nl", "laatste zondag van maart 2014", on(date(2014, 3, 30))),
        ("nl", "de derde dinsdag van december", on(date(2026, 12, 15))),
    ],
    "parts of the day with their prepositions": [
        ("fr", "le 16 vers 6h du soir", at(date(2026, 12, 16), 18)),
        ("en", "in the afternoon", at(date(2026, 11, 26), 15)),
        ("de", "am Abend", at(date(2026, 11, 26), 19)),
        ("fr", "dans la soirée", at(date(2026, 11, 26), 19)),
        ("es", "por la tarde", at(date(2026, 11, 26), 15)),
        ("it", "in serata", at(date(2026, 11, 26), 19)),
        ("it", "nella mattinata di lunedì", at(date(2026, 11, 30), 9)),
        ("pt", "essa noite", at(date(2026, 11, 26), 19)),
        ("nl", "'s avonds", at(date(2026, 11, 26), 19)),
    ],
    "ordinal dates in words": [
        ("de", "am 15ten", on(date(2026, 12, 15))),
        ("de", "fünfter Dezember", on(date(2026, 12, 5))),
        ("de", "der vierte Dezember", on(date(2026, 12, 4))),
        ("de", "erster März", on(date(2027, 3, 1))),
        ("nl", "vijfde december", on(date(2026, 12, 5))),
    ],
    "times and dates with dots and dashes": [
        ("pt", "às 15.00", at(date(2026, 11, 26), 15)),
        ("es", "a las 15.30", at(date(2026, 11, 26), 15, 30)),
        ("de", "um 10.10", at(date(2026, 11, 26), 10, 10)),
        ("de", "am 10.10", on(date(2027, 10, 10))),
        ("it", "domani 15.30", at(date(2026, 11, 27), 15, 30)),
        ("es", "el 17-2", on(date(2027, 2, 17))),
        ("es", "5-5-2013", on(date(2013, 5, 5))),
        ("nl", "op 17-2", on(date(2027, 2, 17))),
        ("en", "at 15.30", at(date(2026, 11, 26), 15, 30)),
        ("it", "alle 10.10", at(date(2026, 11, 26), 10, 10)),
        ("fr", "le 17-2", on(date(2027, 2, 17))),
    ],
    "minutes to and past an hour": [
        ("en", "15 to noon", at(date(2026, 11, 26), 11, 45)),
        ("en", "20 past 3pm", at(date(2026, 11, 26), 15, 20)),
        ("pt", "5 para meio dia", at(date(2026, 11, 26), 11, 55)),
        ("it", "alle 3 e 20", at(date(2026, 11, 26), 3, 20)),
        ("de", "15 uhr 20", at(date(2026, 11, 26), 15, 20)),
        ("es", "a las 3 menos cuarto", at(date(2026, 11, 26), 2, 45)),
        ("it", "mezzogiorno meno un quarto", at(date(2026, 11, 26), 11, 45)),
        ("de", "um 20 nach 3", at(date(2026, 11, 26), 3, 20)),
        ("fr", "à 3h moins le quart", at(date(2026, 11, 26), 2, 45)),
        ("nl", "kwart over 3", at(date(2026, 11, 26), 3, 15)),
    ],
    "a time before its date": [
        ("it", "alle 19:30 di venerdì 20 settembre", at(date(2027, 9, 20), 19, 30)),
        ("it", "13:30 di sabato 21 settembre", at(date(2027, 9, 21), 13, 30)),
        ("es", "a las 19:30 del viernes 20 de septiembre", at(date(2027, 9, 20), 19, 30)),
        ("pt", "às 19:30 de sexta-feira", at(date(2026, 11, 27), 19, 30)),
    ],
    "relative forms": [
        ("de", "mittwoch nach dem nächsten", on(date(2026, 12, 9))),
        ("en", "7 days hence", on(date(2026, 12, 3))),
        ("en", "7 days from now", on(date(2026, 12, 3))),
        ("en", "2 upcoming days", on(date(2026, 11, 28))),
        ("fr", "les 2 prochaines semaines", on(date(2026, 12, 10))),
        ("de", "die nächsten 2 Tage", on(date(2026, 11, 28))),
        ("es", "los próximos 2 días", on(date(2026, 11, 28))),
        ("it", "i prossimi 2 giorni", on(date(2026, 11, 28))),
        ("pt", "os próximos 2 dias", on(date(2026, 11, 28))),
        ("nl", "de komende 2 dagen", on(date(2026, 11, 28))),
        ("de", "übernächsten Freitag", on(date(2026, 12, 4))),
        ("en", "friday after next", on(date(2026, 12, 4))),
        ("nl", "overvolgende vrijdag", on(date(2026, 12, 4))),
        ("de", "mittwoch in 2 wochen", on(date(2026, 12, 16))),
    ],
    "am and pm written otherwise": [
        ("en", "3 oclock pm", at(date(2026, 11, 26), 15)),
        ("en", "330 p.m.", at(date(2026, 11, 26), 15, 30)),
        ("en", "3:30 p m", at(date(2026, 11, 26), 15, 30)),
        ("es", "a las 3 p. m.", at(date(2026, 11, 26), 15)),
    ],
    "holidays people name": [
        ("en", "Christmas Eve", on(date(2026, 12, 24))),
        ("en", "on New Year's Day", on(date(2027, 1, 1))),
        ("en", "New Year's Eve", on(date(2026, 12, 31))),
        ("de", "Heiligabend", on(date(2026, 12, 24))),
        ("de", "bis Silvester", on(date(2026, 12, 31))),
        ("fr", "pour la Toussaint", on(date(2027, 11, 1))),
        ("fr", "le jour de l'an", on(date(2027, 1, 1))),
        ("es", "Nochebuena", on(date(2026, 12, 24))),
        ("es", "el día del trabajo", on(date(2027, 5, 1))),
        ("it", "san valentino", on(date(2027, 2, 14))),
        ("it", "la vigilia di natale", on(date(2026, 12, 24))),
        ("pt", "véspera de ano novo", on(date(2026, 12, 31))),
        ("pt", "dia de todos os santos", on(date(2027, 11, 1))),
        ("nl", "kerstavond", on(date(2026, 12, 24))),
        ("nl", "op valentijnsdag", on(date(2027, 2, 14))),
        ("en", "labour day", on(date(2027, 5, 1))),
    ],
    "a word of approximation leaves with its time": [
        ("de", "so ungefähr um 15 Uhr", at(date(2026, 11, 26), 15)),
        ("it", "circa alle 3 del pomeriggio", at(date(2026, 11, 26), 15)),
        ("de", "zirka 15 Uhr", at(date(2026, 11, 26), 15)),
        ("de", "ca. um 15 Uhr", at(date(2026, 11, 26), 15)),
        ("de", "15 Uhr in etwa", at(date(2026, 11, 26), 15)),
        ("en", "at about 3pm", at(date(2026, 11, 26), 15)),
        ("fr", "vers 15h", at(date(2026, 11, 26), 15)),
        ("es", "sobre las 3 de la tarde", at(date(2026, 11, 26), 15)),
        ("it", "verso le 15", at(date(2026, 11, 26), 15)),
        ("pt", "por volta das 15h", at(date(2026, 11, 26), 15)),
        ("nl", "omstreeks 15u", at(date(2026, 11, 26), 15)),
        ("nl", "ca. 15h", at(date(2026, 11, 26), 15)),
    ],
    "Portuguese weekdays written with a space": [
        ("pt", "segunda feira", on(date(2026, 11, 30))),
        ("pt", "essa segunda feira", on(date(2026, 11, 30))),
        ("pt", "sexta feira", on(date(2026, 11, 27))),
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
        ("es", "Resultado 3-2"),  # a date with a dash needs its year or a word naming a day
        ("en", "Read pages 10-12"),
        ("en", "Buy Christmas presents"),  # a holiday before other words is the title's
        ("de", "Weihnachten Geschenke kaufen"),
        ("en", "Evening class"),  # a part of the day alone needs its preposition
        ("en", "Talk about 3 apples"),  # approximation: before a time only
        ("es", "Comprar las 3 manzanas"),
        ("de", "Der dritte Versuch"),  # an ordinal word alone names no day
        ("en", "Do this first"),
        ("es", "Leer cuarto capítulo"),
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
