"""The filter language in every language (the contract's "Filters in every language"): each
condition's words in en de fr es it pt nl, English always, through GET /api/tasks?filter=
and saved filters, on both databases. Dates are computed from the day the test runs (the
caller's clock is UTC)."""

import httpx
import pytest

from tests.support import validation_details
from tests.tasks.helpers import create_task
from tests.tasks.test_filters import dated, day, titles

# Each condition of the contract's list, said in each language: (query, the titles answered)
# over `dated`'s tasks and one subtask of "today".
ALL_DATED = ["daily", "in 6 days", "in 7 days", "today", "today timed", "tomorrow", "undated"]
WORDS = {
    "en": ["today", "tomorrow", "overdue", "no date", "recurring", "next 7 days",
           "due before: tomorrow", "due after: in 3 days", "no labels", "assigned to: me",
           "assigned to: others", "created by: me", "shared", "subtask", "search: timed"],
    "de": ["heute", "morgen", "überfällig", "ohne Datum", "wiederkehrend", "nächste 7 Tage",
           "fällig vor: morgen", "fällig nach: in 3 Tagen", "keine Labels", "zugewiesen an: mich",
           "zugewiesen an: andere", "erstellt von: mich", "geteilt", "Unteraufgabe",
           "suche: timed"],
    "fr": ["aujourd'hui", "demain", "en retard", "sans date", "récurrent", "7 prochains jours",
           "échéance avant: demain", "échéance après: dans 3 jours", "sans étiquette",
           "assigné à: moi", "assigné à: autres", "créé par: moi", "partagé", "sous-tâche",
           "recherche: timed"],
    "es": ["hoy", "mañana", "vencidas", "sin fecha", "recurrentes", "próximos 7 días",
           "vence antes: mañana", "vence después: en 3 días", "sin etiquetas", "asignado a: mí",
           "asignado a: otros", "creado por: mí", "compartido", "subtarea", "buscar: timed"],
    "it": ["oggi", "domani", "scadute", "senza data", "ricorrenti", "prossimi 7 giorni",
           "scadenza prima: domani", "scadenza dopo: tra 3 giorni", "senza etichette",
           "assegnato a: me", "assegnato a: altri", "creato da: me", "condivisi",
           "sottoattività", "cerca: timed"],
    "pt": ["hoje", "amanhã", "atrasadas", "sem data", "recorrentes", "próximos 7 dias",
           "vence antes: amanhã", "vence depois: em 3 dias", "sem etiquetas",
           "atribuído a: mim", "atribuído a: outros", "criado por: mim", "compartilhado",
           "subtarefa", "pesquisar: timed"],
    "nl": ["vandaag", "morgen", "achterstallig", "geen datum", "terugkerend",
           "volgende 7 dagen", "deadline voor: morgen", "deadline na: over 3 dagen",
           "geen labels", "toegewezen aan: mij", "toegewezen aan: anderen", "gemaakt door: mij",
           "gedeeld", "subtaak", "zoeken: timed"],
}  # fmt: skip
# What each condition answers, in the order of WORDS' lists.
ANSWERS: list[list[str] | None] = [
    ["subtask", "today", "today timed"],
    ["tomorrow"],
    None,  # overdue: what `overdue=true` answers (yesterday among them)
    ["undated"],
    ["daily"],
    ["daily", "in 6 days", "subtask", "today", "today timed", "tomorrow"],
    ["subtask", "today", "today timed", "yesterday"],
    ["in 6 days", "in 7 days"],
    sorted([*ALL_DATED, "subtask", "yesterday"]),
    [],
    [],
    sorted([*ALL_DATED, "subtask", "yesterday"]),
    [],
    ["subtask"],
    ["today timed"],
]


@pytest.mark.parametrize("lang", WORDS)
async def test_every_filter_word_in_every_language(alice: httpx.AsyncClient, lang: str) -> None:
    await dated(alice)
    today_task = next(t for t in await _all(alice) if t["title"] == "today")
    await create_task(alice, title="subtask", parent_id=today_task["id"], due_date=day(0))
    for query, english, answer in zip(WORDS[lang], WORDS["en"], ANSWERS, strict=True):
        expected = answer if answer is not None else await titles(alice, english)
        assert "yesterday" in expected or answer is not None
        assert await titles(alice, query) == expected, (lang, query)
        assert await titles(alice, query.upper()) == expected, (lang, query)  # any case


async def _all(client: httpx.AsyncClient) -> list[dict[str, object]]:
    response = await client.get("/api/tasks", params={"limit": 100})
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()
    return items


async def test_the_contracts_examples(alice: httpx.AsyncClient) -> None:
    await dated(alice)
    await create_task(alice, title="urgent today", due_date=day(0), priority="high")
    today_or_late = ["today", "today timed", "urgent today", "yesterday"]
    assert await titles(alice, "heute | überfällig") == today_or_late
    assert await titles(alice, "heute | overdue") == today_or_late  # English too
    assert await titles(alice, "aujourd'hui & p1") == ["urgent today"]
    assert await titles(alice, "sin fecha") == ["undated"]
    assert await titles(alice, "prossimi 7 giorni") == await titles(alice, "next 7 days")
    assert await titles(alice, "atrasadas") == await titles(alice, "overdue")
    assert await titles(alice, "vandaag") == ["today", "today timed", "urgent today"]
    assert await titles(alice, "fällig vor: 1. Dez") == await titles(alice, "due before: dec 1")
    assert await titles(alice, "zugewiesen an: mich") == []
    assert await titles(alice, "!zugewiesen an: mich & sin fecha") == ["undated"]


@pytest.mark.parametrize(
    ("query", "position", "expected"),
    [
        ("heute & ", 8, "a condition"),
        ("fällig vor: gestern blub", 12, "a date"),
        ("zugewiesen an: jemand", 15, "me, others or an email"),
        ("(vandaag | morgen", 17, "&, | or )"),
    ],
)
async def test_errors_name_the_filter_and_the_position(
    alice: httpx.AsyncClient, query: str, position: int, expected: str
) -> None:
    response = await alice.get("/api/tasks", params={"filter": query})
    (detail,) = validation_details(response)
    assert detail["field"] == "filter"
    assert detail["message"].startswith(f"at position {position}: expected {expected}"), detail


async def test_a_saved_filter_in_another_language(alice: httpx.AsyncClient) -> None:
    await dated(alice)
    response = await alice.post(
        "/api/filters", json={"name": "Heute", "query": "heute | überfällig"}
    )
    assert response.status_code == 201, response.text
    found = await alice.get(f"/api/filters/{response.json()['id']}/tasks")
    assert found.status_code == 200, found.text
    assert sorted(t["title"] for t in found.json()) == ["today", "today timed", "yesterday"]
