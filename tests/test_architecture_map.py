"""docs/architecture.md's map is the code's: a line for every package and module of
src/todo_api, none for a file that is gone, and the route table as the app generates it
(scripts/architecture_map.py). The later tests give the check a page or a tree that differs,
so that it is seen to fail."""

import importlib.util
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from fastapi import FastAPI

from tests.support import UNKNOWN_ID
from todo_api.db import Database
from todo_api.kit.deps import held

ROOT = Path(__file__).resolve().parents[1]


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "architecture_map", ROOT / "scripts" / "architecture_map.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAP = _load_script()
PAGE = MAP.PAGE.read_text()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    app: FastAPI = MAP.all_features_app(tmp_path_factory.mktemp("map"))
    return app


@pytest.fixture(scope="module")
def table(app: FastAPI) -> str:
    table: str = MAP.route_table(app)
    return table


def _module_line(name: str) -> str:
    return next(line for line in PAGE.splitlines() if line.lstrip().startswith(f"- `{name}`:"))


def test_every_package_and_module_has_one_line() -> None:
    problems = MAP.module_problems(PAGE)
    assert not problems, (
        "docs/architecture.md, 'Every package and module', differs from src/todo_api:\n"
        + "\n".join(problems)
        + "\nWrite (or remove) one line each; scripts/architecture_map.py lists them."
    )


def test_the_route_table_is_the_apps(table: str) -> None:
    problems = MAP.route_problems(PAGE, table)
    assert not problems, (
        "docs/architecture.md, 'Every route', differs from the app:\n"
        + "\n".join(problems)
        + f"\nRegenerate it: {MAP.REGENERATE}"
    )


def test_a_module_without_a_line_is_named() -> None:
    page = PAGE.replace(_module_line("tasks/bulk.py") + "\n", "")
    assert MAP.module_problems(page) == ["no line for tasks/bulk.py (write one)"]


def test_a_line_for_a_file_that_is_gone_is_named() -> None:
    line = _module_line("tasks/bulk.py")
    page = PAGE.replace(line, line + "\n  - `tasks/gone.py`: what moved away")
    assert MAP.module_problems(page) == ["a line for tasks/gone.py, which is gone"]


def test_two_lines_for_one_module_are_named() -> None:
    line = _module_line("kit/ids.py")
    page = PAGE.replace(line, f"{line}\n{line}")
    assert MAP.module_problems(page) == ["2 lines for kit/ids.py"]


def test_a_new_package_and_module_need_their_lines(tmp_path: Path) -> None:
    """A room added to the tree (a package and a module in it) is missing from the page until
    both have their line; its revisions' folder counts as one."""
    package = tmp_path / "todo_api"
    for name in ("__init__.py", "app.py", "rooms/__init__.py", "rooms/router.py"):
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text("")
    for revision in ("0001_a.py", "0002_b.py"):
        (package / "migrations" / "versions").mkdir(parents=True, exist_ok=True)
        (package / "migrations" / "versions" / revision).write_text("")
    assert MAP.modules_in_tree(package) == {
        "__init__.py",
        "app.py",
        "rooms/",
        "rooms/router.py",
        "migrations/versions/",
    }
    lines = "\n".join(
        f"- `{name}`: something"
        for name in ("__init__.py", "app.py", "rooms/", "migrations/versions/")
    )
    page = f"{MAP.MODULES_START}\n{lines}\n{MAP.MODULES_END}"
    assert MAP.module_problems(page, package) == ["no line for rooms/router.py (write one)"]


def test_a_route_missing_from_the_table_is_named(table: str) -> None:
    row = "| POST | `/api/tasks/{task_id}/complete` | `src/todo_api/tasks/router.py` | direct |"
    assert row in table.splitlines()
    page = PAGE.replace(row + "\n", "")
    assert MAP.route_problems(page, table) == [f"route missing: {row}"]


def test_a_route_that_is_gone_is_named(table: str) -> None:
    row = "| GET | `/api/gone` | `src/todo_api/tasks/router.py` | FastAPI |"
    page = PAGE.replace(MAP.ROUTES_END, f"{row}\n{MAP.ROUTES_END}")
    assert MAP.route_problems(page, table) == [f"route that is gone or changed: {row}"]


def test_a_route_the_app_gains_is_named(tmp_path: Path) -> None:
    app = MAP.all_features_app(tmp_path)

    async def endpoint() -> None: ...

    app.add_api_route("/api/new", endpoint, methods=["GET"])
    problems = MAP.route_problems(PAGE, MAP.route_table(app))
    assert len(problems) == 1
    assert problems[0].startswith("route missing: | GET | `/api/new` |")


def test_each_route_is_served_by_the_file_of_its_code(table: str) -> None:
    """Mounted apps, wrapped ASGI apps and direct routes are followed to this service's file
    whose code answers, and every file named exists."""
    lines = table.splitlines()[2:]
    rows = {tuple(cell.strip() for cell in line.split("|")[1:3]): line for line in lines}
    expected = {
        # The front that loads CalDAV with its first request (dav/server.py then answers).
        ("any", "`/dav/…`"): "`src/todo_api/dav/front.py` | mounted ASGI app",
        ("any", "`/mcp`"): "`src/todo_api/mcp/endpoint.py` | ASGI app",
        ("OPTIONS, POST", "`/oauth/token`"): "`src/todo_api/oauth/router.py` | ASGI app",
        ("GET", "`/api/tasks`"): "`src/todo_api/tasks/router.py` | direct",
        ("GET", "`/api/{user_id}/tasks`"): "`src/todo_api/tasks/router.py` | FastAPI",
        ("GET", "`/health`"): "`src/todo_api/edge/ops.py` | FastAPI",
    }
    for key, served in expected.items():
        assert served in rows[key], rows[key]
    for line in lines:
        source = line.split("|")[3].strip()
        if source.startswith("`src/"):
            assert (ROOT / source.strip("`")).is_file(), line


@asynccontextmanager
async def _closing(db: Database) -> AsyncIterator[None]:
    """The SQLite connections the pages open, closed at the end: each holds a thread (aiosqlite)
    that would keep pytest from exiting (no lifespan here to close them)."""
    try:
        yield
    finally:
        await db.close()


async def test_every_row_on_the_page_is_a_route_the_app_answers(app: FastAPI) -> None:
    """Through HTTP, each row's method and path on the page reach a route (no caller is signed
    in, so most answer 401): never the unknown path's 404, and a 405 only where the row says
    `kit/http.py` answers the path's other methods. A library's mount (`/docs/assets/…`, files
    by name) is left out: no path below it is known here."""
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
        _closing(held(app, Database)),
    ):
        for line in MAP.block(PAGE, MAP.ROUTES_START, MAP.ROUTES_END).strip().splitlines()[2:]:
            methods, path, source = (cell.strip() for cell in line.split("|")[1:4])
            if source.endswith("(library)"):
                continue
            url = re.sub(r"\{[^}]+\}", UNKNOWN_ID, path.strip("`").replace("…", ""))
            method = "GET" if methods == "any" else methods.split(", ")[-1]
            response = await client.request(method, url)
            # The unknown path's 404 is the API's JSON; a page's own 404 (the web app's) is HTML.
            json_404 = response.status_code == 404 and "json" in response.headers["content-type"]
            unknown = json_404 and response.json().get("error") == "Not found"
            assert not unknown, line
            assert (response.status_code == 405) == ("kit/http.py" in source), line
