"""Export, import into another user, export again: the same content."""

from collections.abc import Callable
from typing import get_args

import httpx

from tests.yourdata.helpers import content, counts, export, import_file
from todo_api.accounts.schemas import Theme, WeekStart
from todo_api.yourdata import importer


async def _fill(client: httpx.AsyncClient) -> None:
    """An account with a bit of everything a client sets."""

    async def post(path: str, **body: object) -> dict[str, object]:
        response = await client.post(path, json=body)
        assert response.status_code == 201, response.text
        made: dict[str, object] = response.json()
        return made

    work = await post("/api/lists", name="Work", color="#ff8800")
    home = await post("/api/lists", name="Home")
    later = await post(f"/api/lists/{work['id']}/sections", name="Later")
    now = await post(f"/api/lists/{work['id']}/sections", name="Now")
    moved = await client.post(f"/api/sections/{now['id']}/move", json={"before": later["id"]})
    assert moved.status_code == 200, moved.text
    await post(f"/api/lists/{home['id']}/sections", name="Garden")
    report = await post(
        "/api/tasks",
        title="Quarterly report",
        description="Numbers from finance\nthen the charts",
        list_id=work["id"],
        section_id=later["id"],
        priority="high",
        due_at="2031-03-31T15:00:00Z",
        start_at="2031-03-20T08:00:00Z",
        timezone="Europe/Berlin",
        tags=["finance", "q1"],
        reminders=[{"before_due": "PT30M"}, {"at": "2031-03-30T08:00:00Z"}],
    )
    gather = await post(
        "/api/tasks", title="Gather numbers", list_id=work["id"], parent_id=report["id"]
    )
    charts = await post(
        "/api/tasks", title="Draw charts", list_id=work["id"], parent_id=report["id"]
    )
    await post(
        "/api/tasks",
        title="Stand-up",
        list_id=work["id"],
        section_id=now["id"],
        due_date="2031-01-05",
        timezone="America/New_York",
        recurrence="FREQ=WEEKLY;BYDAY=MO,WE",
    )
    plants = await post(
        "/api/tasks",
        title="Water plants",
        list_id=home["id"],
        due_date="2031-02-01",
        recurrence="FREQ=DAILY;INTERVAL=3",
        priority="low",
    )
    for _ in range(2):  # two occurrences done, the task due on the third
        watered = await client.post(f"/api/tasks/{plants['id']}/complete")
        assert watered.status_code == 200, watered.text
    # A series with a start and no due time (as Thunderbird repeats a task by its start).
    await post(
        "/api/tasks",
        title="Repot the ficus",
        list_id=home["id"],
        start_date="2031-04-01",
        timezone="Europe/Berlin",
        recurrence="FREQ=YEARLY",
    )
    done = await post("/api/tasks", title="Renew passport", priority="medium")
    await post("/api/tasks", title="Call the bank", tags=["phone"])
    completed = await client.post(f"/api/tasks/{done['id']}/complete")
    assert completed.status_code == 200, completed.text
    completed = await client.post(f"/api/tasks/{charts['id']}/complete")
    assert completed.status_code == 200, completed.text
    # An order that is not the order of making.
    moved = await client.post(f"/api/tasks/{charts['id']}/move", json={"before": gather["id"]})
    assert moved.status_code == 200, moved.text
    moved = await client.post(f"/api/lists/{home['id']}/move", json={"before": work["id"]})
    assert moved.status_code == 200, moved.text


async def test_a_round_trip_keeps_everything_a_person_set(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as first, person() as second:
        await _fill(first)
        exported = await export(first)
        assert exported["format"] == "todo-api"
        assert exported["version"] == 1

        already = await second.post("/api/tasks", json={"title": "Already here"})
        assert already.status_code == 201, already.text
        answer = await import_file(second, "todo-api", httpx.Response(200, json=exported).content)
        assert answer.status_code == 200, answer.text
        assert counts(answer) == {"lists": 2, "tasks": 8, "skipped": []}
        starts = {t["title"]: (t["start_at"], t["start_date"]) for t in exported["tasks"]}
        assert starts["Quarterly report"] == ("2031-03-20T08:00:00Z", None)
        assert starts["Repot the ficus"] == (None, "2031-04-01")

        again = await export(second)
        inbox = [t for t in again["tasks"] if t["title"] != "Already here"]
        assert content({**again, "tasks": inbox}) == content(exported)
        assert content(again)["lists"][1]["sections"] == ["Now", "Later"]
        sections = {task["title"]: task["section"] for task in content(again)["lists"][1]["tasks"]}
        assert sections == {"Quarterly report": "Later", "Stand-up": "Now"}
        (report,) = [t for t in content(again)["lists"][1]["tasks"] if t["subtasks"]]
        assert {task["section"] for task in report["subtasks"]} == {"Later"}
        # Counted as any other tasks: the inbox's total, its open ones, each list's.
        for state, expected in ((None, 3), ("false", 2), ("true", 1)):
            params = {"list_id": "inbox"} | ({"completed": state} if state else {})
            listed = await second.get("/api/tasks", params=params)
            assert listed.headers["x-total-count"] == str(expected)
        assert [item["open_count"] for item in (await second.get("/api/lists")).json()] == [2, 3]
        [plants] = [t for t in again["tasks"] if t["title"] == "Water plants"]
        assert plants["due_date"] == "2031-02-07"
        assert [c["occurrence"] for c in plants["completions"]] == ["2031-02-04", "2031-02-01"]
        assert {c["completed_by"] for c in plants["completions"]} == {again["user"]["id"]}
        assert again["user"]["id"] != exported["user"]["id"]
        assert {t["user_id"] for t in again["tasks"]} == {again["user"]["id"]}


async def test_the_exporters_language_is_the_importers_unless_they_chose_one(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as first, person() as fresh, person() as chosen:
        changed = await first.patch("/api/auth/me", json={"language": "de"})
        assert changed.status_code == 200, changed.text
        await first.post("/api/tasks", json={"title": "Milch kaufen"})
        exported = await export(first)
        assert exported["user"]["language"] == "de"
        body = httpx.Response(200, json=exported).content

        assert (await fresh.get("/api/auth/me")).json()["language"] is None
        answer = await import_file(fresh, "todo-api", body)
        assert answer.status_code == 200, answer.text
        assert (await fresh.get("/api/auth/me")).json()["language"] == "de"

        changed = await chosen.patch("/api/auth/me", json={"language": "fr"})
        assert changed.status_code == 200, changed.text
        answer = await import_file(chosen, "todo-api", body)
        assert answer.status_code == 200, answer.text
        assert counts(answer) == {"lists": 0, "tasks": 1, "skipped": []}
        assert (await chosen.get("/api/auth/me")).json()["language"] == "fr"


async def test_the_exporters_theme_is_the_importers_unless_they_chose_one(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as first, person() as fresh, person() as chosen:
        changed = await first.patch("/api/auth/me", json={"theme": "dark"})
        assert changed.status_code == 200, changed.text
        await first.post("/api/tasks", json={"title": "Water the plants"})
        exported = await export(first)
        assert exported["user"]["theme"] == "dark"
        body = httpx.Response(200, json=exported).content

        assert (await fresh.get("/api/auth/me")).json()["theme"] is None
        answer = await import_file(fresh, "todo-api", body)
        assert answer.status_code == 200, answer.text
        assert (await fresh.get("/api/auth/me")).json()["theme"] == "dark"

        changed = await chosen.patch("/api/auth/me", json={"theme": "light"})
        assert changed.status_code == 200, changed.text
        answer = await import_file(chosen, "todo-api", body)
        assert answer.status_code == 200, answer.text
        assert (await chosen.get("/api/auth/me")).json()["theme"] == "light"


def test_an_import_takes_the_themes_an_account_takes() -> None:
    assert get_args(Theme) == importer.THEMES


async def test_a_theme_the_web_app_does_not_have_refuses_the_file(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as first, person() as second:
        await first.post("/api/tasks", json={"title": "Buy milk"})
        exported = await export(first)
        exported["user"]["theme"] = "sepia"
        answer = await import_file(second, "todo-api", httpx.Response(200, json=exported).content)
        assert answer.status_code == 400, answer.text
        assert answer.json()["details"] == [
            {"index": "user", "field": "theme", "message": "must be one of light, dark"}
        ]
        assert (await second.get("/api/auth/me")).json()["theme"] is None


async def test_the_exporters_first_day_of_the_week_travels_as_the_theme_does(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as first, person() as fresh, person() as wrong:
        changed = await first.patch("/api/auth/me", json={"week_start": "saturday"})
        assert changed.status_code == 200, changed.text
        exported = await export(first)
        assert exported["user"]["week_start"] == "saturday"
        answer = await import_file(fresh, "todo-api", httpx.Response(200, json=exported).content)
        assert answer.status_code == 200, answer.text
        assert (await fresh.get("/api/auth/me")).json()["week_start"] == "saturday"

        exported["user"]["week_start"] = "friday"
        answer = await import_file(wrong, "todo-api", httpx.Response(200, json=exported).content)
        assert answer.status_code == 400, answer.text
        assert answer.json()["details"] == [
            {
                "index": "user",
                "field": "week_start",
                "message": "must be one of monday, sunday, saturday",
            }
        ]


def test_an_import_takes_the_first_days_an_account_takes() -> None:
    assert get_args(WeekStart) == importer.WEEK_STARTS


async def test_a_language_the_service_does_not_speak_refuses_the_file(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as first, person() as second:
        await first.post("/api/tasks", json={"title": "Buy milk"})
        exported = await export(first)
        exported["user"]["language"] = "xx"
        answer = await import_file(second, "todo-api", httpx.Response(200, json=exported).content)
        assert answer.status_code == 400, answer.text
        assert answer.json()["details"] == [
            {
                "index": "user",
                "field": "language",
                "message": "must be one of en, de, fr, es, it, pt, nl",
            }
        ]
        assert (await second.get("/api/tasks")).json() == []
        assert (await second.get("/api/auth/me")).json()["language"] is None


async def test_a_wrong_completed_occurrence_refuses_the_whole_file(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as first, person() as second:
        made = await first.post(
            "/api/tasks",
            json={"title": "Daily", "due_at": "2031-01-01T09:00:00Z", "recurrence": "FREQ=DAILY"},
        )
        await first.post(f"/api/tasks/{made.json()['id']}/complete")
        exported = await export(first)
        exported["tasks"][0]["completions"].append({"occurrence": "soon"})
        answer = await import_file(second, "todo-api", httpx.Response(200, json=exported).content)
        assert answer.status_code == 400, answer.text
        details = answer.json()["details"]
        assert [d["field"] for d in details] == ["completions[1].occurrence"]
        assert (await export(second))["tasks"] == []


async def test_lists_inside_lists_come_back_inside_their_parents(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as first, person() as second:
        made: dict[str, str] = {}
        for name in ("Plans", "Work", "Client"):
            response = await first.post("/api/lists", json={"name": name})
            assert response.status_code == 201, response.text
            made[name] = response.json()["id"]
        # Plans made first, placed last: the file names a parent after its child.
        for name, parent in (("Client", "Work"), ("Plans", "Client")):
            placed = await first.patch(f"/api/lists/{made[name]}", json={"parent_id": made[parent]})
            assert placed.status_code == 200, placed.text
        exported = await export(first)
        assert {item["name"]: item["parent_id"] for item in exported["lists"]} == {
            "Work": None,
            "Client": made["Work"],
            "Plans": made["Client"],
        }
        answer = await import_file(second, "todo-api", httpx.Response(200, json=exported).content)
        assert answer.status_code == 200, answer.text
        lists = (await second.get("/api/lists")).json()
        names = {item["id"]: item["name"] for item in lists}
        parents = {item["name"]: names.get(item["parent_id"]) for item in lists}
        assert parents == {"Plans": "Client", "Work": None, "Client": "Work"}
