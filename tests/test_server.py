"""End to end through a real `todo-api serve` process, and the package as it is shipped."""

import asyncio
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

from tests.helpers_server import (
    Server,
    clean_env,
    cli_token,
    run_command,
    running_server,
    server_token,
)
from tests.support import TEST_SECRET
from todo_api.migrations import alembic_config

ROOT = Path(__file__).resolve().parents[1]
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
HTTP_TIMEOUT = 30.0


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_task_survives_a_restart(server_database_url: str, tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL=server_database_url, JWT_SECRET=TEST_SECRET)
    headers = bearer(server_token(env, sub=str(uuid.uuid4())))

    with running_server(tmp_path, env, tmp_path / "first.log") as server:
        created = httpx.post(
            f"{server.url}/api/tasks",
            json={"title": "Survive a restart"},
            headers=headers,
            timeout=HTTP_TIMEOUT,
        )
        assert created.status_code == 201, created.text

    with running_server(tmp_path, env, tmp_path / "second.log") as server:
        listed = httpx.get(f"{server.url}/api/tasks", headers=headers, timeout=HTTP_TIMEOUT)
        log = server.log()

    assert listed.status_code == 200
    assert listed.json() == [created.json()]
    # The log says which database, and the migration it is at.
    database = server_database_url.rsplit("/", 1)[-1]
    assert (
        f"/{database}" in log
        or f"SQLite file {server_database_url.removeprefix('sqlite:///')}" in log
    )
    assert "database schema at migration" in log


def test_starts_with_no_configuration_at_all(tmp_path: Path) -> None:
    cwd = tmp_path / "fresh"
    cwd.mkdir()
    env = clean_env()

    with running_server(cwd, env, tmp_path / "server.log") as server:
        assert (cwd / "data" / "todo.db").is_file()
        assert (cwd / "data" / "jwt_secret").is_file()
        headers = bearer(cli_token(env, cwd, sub="someone"))
        created = httpx.post(
            f"{server.url}/api/tasks", json={"title": "t"}, headers=headers, timeout=HTTP_TIMEOUT
        )
        listed = httpx.get(f"{server.url}/api/tasks", headers=headers, timeout=HTTP_TIMEOUT)
        log = server.log()

    assert created.status_code == 201, created.text
    assert listed.json() == [created.json()]
    assert "JWT_SECRET" in log  # the development-secret warning


def test_an_idle_connection_outlives_a_client_pools_own_expiry(tmp_path: Path) -> None:
    # httpx drops a pooled connection idle for 5 s; a server that closed its end at 5 s (as
    # uvicorn does unless told) would race the request a client sends on it just before then.
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/todo.db", JWT_SECRET=TEST_SECRET)
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with (
        running_server(tmp_path, env, tmp_path / "server.log") as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=HTTP_TIMEOUT) as conn,
    ):
        for _ in range(2):
            conn.sendall(request)
            answer = conn.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 "), answer
            time.sleep(6)  # idle past httpx's expiry: the server still holds the connection


def test_migrates_when_started_outside_the_repository(tmp_path: Path) -> None:
    assert not tmp_path.is_relative_to(ROOT)
    database = tmp_path / "elsewhere.db"
    env = clean_env(DATABASE_URL=f"sqlite:///{database}", JWT_SECRET=TEST_SECRET)

    with running_server(tmp_path, env, tmp_path / "server.log"):
        pass

    with sqlite3.connect(database) as db:
        versions = [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]
    assert versions == [HEAD]


@pytest.fixture
def postgres_server(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    env = clean_env(DATABASE_URL=postgres_url, JWT_SECRET=TEST_SECRET)
    with running_server(tmp_path, env, tmp_path / "server.log") as server:
        yield server, env


async def test_fifty_concurrent_creates_by_a_new_user_all_succeed(
    postgres_server: tuple[Server, dict[str, str]], tmp_path: Path
) -> None:
    server, env = postgres_server
    token = server_token(env, sub=str(uuid.uuid4()), email="racer@example.test")
    titles = [f"task {i}" for i in range(50)]

    async with httpx.AsyncClient(
        base_url=server.url, headers=bearer(token), timeout=HTTP_TIMEOUT
    ) as client:
        responses = await asyncio.gather(
            *(client.post("/api/tasks", json={"title": title}) for title in titles)
        )
        listed = await client.get("/api/tasks")

    assert [r.status_code for r in responses] == [201] * 50, [r.text for r in responses]
    assert listed.status_code == 200
    assert sorted(task["id"] for task in listed.json()) == sorted(r.json()["id"] for r in responses)
    assert sorted(task["title"] for task in listed.json()) == sorted(titles)


# --- packaging (slow-ish: builds a wheel, a few seconds) -----------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel` of a clean copy of the project (a build in place would write into src/)."""
    source = tmp_path_factory.mktemp("source") / "todo-api"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "data", "build", "dist", "*.egg-info", "__pycache__", ".*cache*"
        ),
    )
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(source),
            "--no-deps",
            "-w",
            str(out),
            "--no-build-isolation",  # setuptools and wheel come with the dev extras
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("todo_api-*.whl")
    return built


@pytest.mark.slow
def test_wheel_ships_the_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "todo_api/migrations/env.py",
        "todo_api/migrations/script.py.mako",
        "todo_api/migrations/versions/0001_users_and_tasks.py",
    ):
        assert name in names
    for version in (ROOT / "src/todo_api/migrations/versions").glob("[0-9]*.py"):
        assert f"todo_api/migrations/versions/{version.name}" in names


@pytest.mark.slow
def test_installed_wheel_migrates_from_any_directory(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True,
        timeout=120,
        check=True,
    )
    database = tmp_path / "todo.db"
    env = clean_env(
        DATABASE_URL=f"sqlite:///{database}", JWT_SECRET=TEST_SECRET, PYTHONPATH=str(target)
    )
    script = "import sys, todo_api.cli; print(todo_api.cli.__file__); sys.exit(todo_api.cli.main())"

    result = run_command([sys.executable, "-c", script, "migrate"], env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.splitlines()[0]).is_relative_to(target)  # not the editable copy
    with sqlite3.connect(database) as db:
        versions = [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]
    assert versions == [HEAD]
