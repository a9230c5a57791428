"""`todo-api` and `python -m todo_api`, run as real processes in a clean environment."""

import argparse
import re
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest
from sqlalchemy.engine import make_url

from tests.helpers_server import clean_env, free_port, run_cli, run_command, running_server
from tests.support import TEST_SECRET
from todo_api.cli import build_parser


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(DATABASE_URL=f"sqlite:///{tmp_path}/todo.db", JWT_SECRET=TEST_SECRET)


def test_token_prints_a_jwt_signed_with_the_secret(env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli(
        "token", "--sub", "X", "--email", "e@example.test", "--minutes", "5", env=env, cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), TEST_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "X"
    assert claims["email"] == "e@example.test"
    assert abs(claims["exp"] - (time.time() + 5 * 60)) < 30


def test_token_says_which_secret_signed_it_and_loudly_when_it_made_one(tmp_path: Path) -> None:
    env = clean_env()  # no JWT_SECRET: the development secret in ./data/
    secret_file = tmp_path / "data" / "jwt_secret"

    first = run_cli("token", "--sub", "X", env=env, cwd=tmp_path)
    second = run_cli("token", "--sub", "X", env=env, cwd=tmp_path)
    configured = run_cli(
        "token", "--sub", "X", env={**env, "JWT_SECRET": TEST_SECRET}, cwd=tmp_path
    )

    assert first.returncode == second.returncode == configured.returncode == 0
    assert f"created a NEW development secret in {secret_file}" in first.stderr
    assert f"signed with the development secret in {secret_file}" in second.stderr
    assert "NEW" not in second.stderr
    assert configured.stderr.strip() == "todo-api: signed with JWT_SECRET"
    secret = secret_file.read_text().strip()
    for result in (first, second):  # stdout is the token alone
        assert jwt.decode(result.stdout.strip(), secret, algorithms=["HS256"])["sub"] == "X"


def test_python_dash_m_lists_the_commands(env: dict[str, str], tmp_path: Path) -> None:
    result = run_command(
        [sys.executable, "-m", "todo_api", "--help"], env=env, cwd=tmp_path, timeout=30
    )

    assert result.returncode == 0, result.stderr
    for command in ("serve", "migrate", "token"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["serve", "migrate", "revision", "token"])
def test_each_command_s_help_describes_each_option_and_its_default(
    env: dict[str, str], tmp_path: Path, command: str
) -> None:
    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    parser = commands.choices[command]

    result = run_cli(command, "--help", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    shown = " ".join(result.stdout.split())  # argparse wraps lines where it likes
    assert parser.description
    assert parser.description in shown
    for action in parser._actions:
        assert action.help, f"{command} {action.option_strings} has no description"
        description = " ".join((action.help % {"default": action.default}).split())
        assert description in shown
        if not action.required and action.option_strings != ["-h", "--help"]:
            assert "default" in description, f"{command} {action.option_strings}"


def test_migrate_creates_a_fresh_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "not" / "there" / "todo.db"
    env = clean_env(DATABASE_URL=f"sqlite:///{path}", JWT_SECRET=TEST_SECRET)

    result = run_cli("migrate", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr  # nothing that reads like an error
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"alembic_version", "users", "tasks"} <= tables


@pytest.mark.parametrize("command", ["serve", "migrate", "token"])
def test_production_without_secret_exits_2_with_one_line(tmp_path: Path, command: str) -> None:
    env = clean_env(ENV="production", DATABASE_URL=f"sqlite:///{tmp_path}/todo.db")

    result = run_cli(command, env=env, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "JWT_SECRET" in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "todo.db").exists()


def test_unknown_database_scheme_exits_2_naming_database_url(tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL="mysql://u:p@db.example/app", JWT_SECRET=TEST_SECRET)

    result = run_cli("migrate", env=env, cwd=tmp_path)

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_port_variable_concerns_only_serve(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "PORT": "abc"}
    token = run_cli("token", "--sub", "X", env=env, cwd=tmp_path)
    assert token.returncode == 0, token.stderr

    serve = run_cli("serve", env=env, cwd=tmp_path)
    assert serve.returncode == 2
    assert (
        serve.stderr == "todo-api: invalid configuration: PORT: 'abc' is not a port (1 to 65535)\n"
    )
    assert not (tmp_path / "todo.db").exists()  # nothing migrated


@pytest.mark.parametrize(
    ("name", "value"), [("APP_ICON", "missing.png"), ("APP_NAME", "Acme\tLists")]
)
def test_a_bad_name_or_icon_stops_serve_with_one_line(
    env: dict[str, str], tmp_path: Path, name: str, value: str
) -> None:
    serve = run_cli("serve", env={**env, name: value}, cwd=tmp_path)
    assert serve.returncode == 2
    [line] = serve.stderr.splitlines()
    assert line.startswith(f"todo-api: invalid configuration: {name}: "), line
    assert not (tmp_path / "todo.db").exists()  # nothing migrated


@pytest.mark.parametrize("port", ["70000", "0", "-1", "²"])
def test_a_port_outside_the_range_is_refused(
    env: dict[str, str], tmp_path: Path, port: str
) -> None:
    result = run_cli("serve", "--port", port, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "is not a port" in result.stderr


@pytest.mark.parametrize(
    "url", ["postgresql://", "postgresql://127.0.0.1", "postgresql://u@127.0.0.1:abc/db"]
)
def test_a_database_url_that_names_no_database_is_one_line(
    env: dict[str, str], tmp_path: Path, url: str
) -> None:
    result = run_cli("migrate", env={**env, "DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unreachable_database_is_retried_then_exits_with_one_line(tmp_path: Path) -> None:
    env = clean_env(
        DATABASE_URL="postgresql://postgres@127.0.0.1:1/todo",  # nothing listens on port 1
        DATABASE_CONNECT_TIMEOUT="1.5",
        JWT_SECRET=TEST_SECRET,
    )

    result = run_cli("serve", "--port", "8765", env=env, cwd=tmp_path)

    assert result.returncode == 1
    output = (result.stdout + result.stderr).strip().splitlines()
    assert "Traceback" not in result.stderr
    attempts = [line for line in output if "database not reachable (attempt" in line]
    assert len(attempts) >= 2, output  # one line per attempt
    assert all("ConnectionRefusedError" in line for line in attempts)
    assert "did not answer within 1.5 s (DATABASE_CONNECT_TIMEOUT)" in output[-1]
    assert "127.0.0.1:1/todo" in output[-1]
    # Nothing else: the database line, the attempts, the final line.
    assert len(output) == len(attempts) + 2, output


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_a_database_that_refuses_the_role_is_one_line_at_once(
    postgres_url: str, tmp_path: Path, command: str
) -> None:
    url = postgres_url.replace("postgres@", "no_such_role_here@", 1)
    env = clean_env(DATABASE_URL=url, DATABASE_CONNECT_TIMEOUT="60", JWT_SECRET=TEST_SECRET)

    result = run_cli(command, env=env, cwd=tmp_path)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "database not reachable" not in result.stderr  # not retried: waiting will not help
    last = result.stderr.strip().splitlines()[-1]
    assert 'role "no_such_role_here" does not exist' in last


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_a_database_that_does_not_exist_is_one_line_at_once_naming_the_fix(
    postgres_url: str, tmp_path: Path, command: str
) -> None:
    url = make_url(postgres_url).set(database="no_such_database_here")
    env = clean_env(
        DATABASE_URL=url.render_as_string(hide_password=False),
        DATABASE_CONNECT_TIMEOUT="60",
        JWT_SECRET=TEST_SECRET,
    )

    result = run_cli(command, env=env, cwd=tmp_path)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "database not reachable" not in result.stderr  # not retried: waiting will not help
    last = result.stderr.strip().splitlines()[-1]
    assert 'database "no_such_database_here" does not exist' in last
    assert "createdb" in last
    assert "DATABASE_URL" in last


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_ssl_required_of_a_server_without_ssl_is_one_line_at_once_naming_the_fix(
    postgres_url: str, tmp_path: Path, command: str
) -> None:
    # The local PostgreSQL has no SSL; Neon's URLs, pasted as they are, ask for it.
    env = clean_env(
        DATABASE_URL=f"{postgres_url}?sslmode=require",
        DATABASE_CONNECT_TIMEOUT="60",
        JWT_SECRET=TEST_SECRET,
    )

    result = run_cli(command, env=env, cwd=tmp_path)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "database not reachable" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "the server does not accept SSL" in last
    assert "remove sslmode=require from DATABASE_URL" in last


def test_migrations_use_the_direct_url(postgres_url: str, tmp_path: Path) -> None:
    # DATABASE_URL leads nowhere; migrating works through DATABASE_DIRECT_URL alone.
    env = clean_env(
        DATABASE_URL="postgresql://postgres@127.0.0.1:1/todo",
        DATABASE_DIRECT_URL=postgres_url,
        DATABASE_CONNECT_TIMEOUT="0",
        JWT_SECRET=TEST_SECRET,
    )

    result = run_cli("migrate", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_a_bad_direct_url_is_one_line_naming_it(env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli("migrate", env={**env, "DATABASE_DIRECT_URL": "postgresql://"}, cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "DATABASE_DIRECT_URL" in result.stderr


def test_a_port_in_use_is_one_line_naming_port_before_migrating(
    env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = run_cli("serve", env={**env, "PORT": str(port)}, cwd=tmp_path)

    assert result.returncode == 1
    output = (result.stdout + result.stderr).strip().splitlines()
    assert len(output) == 1, output
    assert f"port {port} on 127.0.0.1 is in use" in output[0]
    assert "PORT" in output[0].split("in use", 1)[1]
    assert not (tmp_path / "todo.db").exists()  # nothing migrated


# --- What the command line says about settings ----------------------------------------------


def warnings_of(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if " WARNING todo_api " in line]


def test_a_mistyped_setting_is_one_warning_naming_the_setting_it_resembles(
    env: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **env,
        "DATABSE_URL": "postgresql://nowhere/typo",
        "log_formt": "json",
        # Names of other programs, some a few letters from a setting (HOME, HOST; TERM, PORT).
        "TERM": "xterm",
        "EDITOR": "vi",
        "XDG_DATA_DIRS": "/usr/share",
    }
    (tmp_path / ".env").write_text(
        "LOGLEVEL=DEBUG\nPOSTGRES_PASSWORD=compose-reads-it\nSOMETHING_ELSE=1\nENV=development\n"
    )

    result = run_cli("migrate", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    messages = [line.split(" WARNING todo_api ", 1)[1] for line in warnings_of(result)]
    assert messages == [
        "DATABSE_URL is not a setting; did you mean DATABASE_URL?",
        "log_formt is not a setting; did you mean LOG_FORMAT?",
        ".env: LOGLEVEL is not a setting; did you mean LOG_LEVEL?",
        ".env: SOMETHING_ELSE is not a setting (docs/configuration.md)",
    ]
    assert "up to date" in result.stdout


def test_settings_spelled_right_give_no_warning(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "log_level": "info", "BETTER_AUTH_SECRET": TEST_SECRET, "PORT": "8001"}
    (tmp_path / ".env").write_text("LOG_FORMAT=text\nHOST=127.0.0.1\n")

    result = run_cli("migrate", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert warnings_of(result) == []


@pytest.mark.parametrize(
    ("command", "variable", "value", "where"),
    [
        ("serve", "PORT", "abc", "environment"),  # serve's own: not read from .env
        ("migrate", "database_pool_size", "abc", "environment"),
        ("migrate", "database_pool_size", "abc", ".env"),
        ("migrate", "Shutdown_Grace_Seconds", "soon", "environment"),
        ("migrate", "Shutdown_Grace_Seconds", "soon", ".env"),
        ("token", "ENV", "staging", ".env"),
        ("migrate", "database_url", "mysql://u:p@db.example/app", "environment"),
        ("migrate", "Database_Direct_Url", "postgresql://", ".env"),
    ],
)
def test_a_value_of_the_wrong_kind_stops_with_one_line_naming_the_variable_as_set(
    env: dict[str, str], tmp_path: Path, command: str, variable: str, value: str, where: str
) -> None:
    if where == ".env":
        (tmp_path / ".env").write_text(f"{variable}={value}\n")
    else:
        env = {**env, variable: value}

    result = run_cli(command, env=env, cwd=tmp_path)

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert re.search(rf"\b{variable}\b", line), line
    if variable != variable.upper():
        assert variable.upper() not in line
    assert "--port" not in line
    assert not (tmp_path / "todo.db").exists()


# The settings each command's --help names (a sample: the ones a reader looks for first).
SETTINGS_NAMED = {
    "serve": ["HOST", "PORT", "DATABASE_URL", "JWT_SECRET", "LOG_LEVEL", "LOG_FORMAT"],
    "migrate": ["DATABASE_URL", "DATABASE_DIRECT_URL", "DATABASE_CONNECT_TIMEOUT"],
    "revision": ["DATABASE_URL"],
    "token": ["JWT_SECRET", "BETTER_AUTH_SECRET", "DATA_DIR", "JWT_ISSUER", "JWT_AUDIENCE"],
}


@pytest.mark.parametrize("command", [None, *SETTINGS_NAMED])
def test_help_names_the_settings_read_and_the_page_that_says_more(
    env: dict[str, str], tmp_path: Path, command: str | None
) -> None:
    result = run_cli(*([command] if command else []), "--help", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    shown = " ".join(result.stdout.split())
    assert "docs/command-line.md" in shown
    assert "docs/configuration.md" in shown
    assert ".env" in shown
    for name in SETTINGS_NAMED.get(command or "", []):
        assert re.search(rf"\b{name}\b", shown), (command, name)


def test_smtp_url_console_is_refused_in_production(tmp_path: Path) -> None:
    env = clean_env(ENV="production", JWT_SECRET="x" * 40, SMTP_URL="console")

    result = run_cli("migrate", env=env, cwd=tmp_path)

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "SMTP_URL=console" in line
    assert "ENV=production" in line


def test_smtp_url_console_writes_account_emails_decoded_to_the_log(
    server_database_url: str, tmp_path: Path
) -> None:
    """A password reset tried on a laptop: the email's link, read from the server's log as it
    stands (not base64), resets the password."""
    port = free_port()
    env = clean_env(
        DATABASE_URL=server_database_url,
        JWT_SECRET=TEST_SECRET,
        SMTP_URL="console",
        PUBLIC_URL=f"http://127.0.0.1:{port}",  # the base of the links
    )
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    with (
        running_server(tmp_path, env, tmp_path / "server.log", port) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        registered = client.post(
            "/api/auth/register", json={"email": email, "password": "correct horse battery"}
        )
        assert registered.status_code == 201, registered.text
        forgot = client.post("/api/auth/password/forgot", json={"email": email})
        assert forgot.status_code == 202, forgot.text
        link = wait_for_line(server.log, r"\| (\S+/account/reset-password\?token=\S+)$")
        token = link.rsplit("token=", 1)[1]
        reset = client.post(
            "/api/auth/password/reset", json={"token": token, "password": "a new passphrase!"}
        )
        assert reset.status_code == 204, reset.text
        log = server.log()
    assert f"| To: {email}" in log
    assert "| Subject: Reset your password" in log
    assert "Content-Transfer-Encoding" not in log
    assert "base64" not in log


def wait_for_line(read: Callable[[], str], pattern: str, timeout: float = 20) -> str:
    """The first group of the first line of `read()` matching `pattern`, once there."""
    deadline = time.monotonic() + timeout
    while True:
        if found := re.search(pattern, read(), re.MULTILINE):
            return found.group(1)
        assert time.monotonic() < deadline, f"no line matches {pattern!r}:\n{read()}"
        time.sleep(0.1)
