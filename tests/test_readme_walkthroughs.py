"""The curl walkthroughs of the README and docs/, run as written against a real server: a reader
who copies them gets what the comments say."""

import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.helpers_server import TODO_API, clean_env, free_port, running_server, server_token
from tests.support import TEST_SECRET

ROOT = Path(__file__).resolve().parents[1]
# The pages in the order a reader goes: the README's first request, then "Try it with curl",
# whose variables the other pages' walkthroughs use; deleting the account comes last. Every
# ```sh block of these pages runs, but for those NOT_WALKTHROUGHS names; a page with a block
# that is in neither list fails the test, so a new walkthrough cannot go untried.
PAGES = (
    "README.md",
    "docs/tasks.md",
    "docs/lists-and-sharing.md",
    "docs/time-zones.md",
    "docs/reminders.md",
    "docs/tokens.md",
    "docs/authentication.md",
    "docs/accounts.md",
    "docs/offline-clients.md",
    "docs/quick-add-and-filters.md",
    "docs/comments.md",
    "docs/activity.md",
    "docs/notifications.md",
    "docs/live-updates.md",
    "docs/webhooks.md",
    "docs/caldav.md",
    "docs/mcp.md",
    "docs/your-data.md",
)
# (page, section): blocks of commands to adapt, not to paste as they are.
NOT_WALKTHROUGHS = {
    ("README.md", "todo-api"),  # make serve, make test
    ("docs/authentication.md", "Behind Better Auth"),  # settings
    ("docs/command-line.md", "Command line"),  # the synopsis
    ("docs/deploying.md", "With PostgreSQL"),  # a database of one's own, Neon's URL
    ("docs/deploying.md", "Neon (or any PgBouncer in transaction mode)"),
    ("docs/deploying.md", "In a container"),  # docker build, run, compose
    ("docs/deploying.md", "Read replicas"),  # a primary's and its replicas' URLs
    ("docs/reminders.md", "Email"),  # a mail server's settings
    # Each needs what an email or an authenticator app gives (tests/accounts/test_recovery.py,
    # test_verification.py and test_two_factor.py run these flows over HTTP). The forgotten
    # password runs: its link is read from the server's log (SMTP_URL=console).
    ("docs/accounts.md", "Emails and their links"),  # settings
    ("docs/accounts.md", "Where you are signed in"),  # a sign-in's id
    ("docs/accounts.md", "Confirming an email"),  # the token of an emailed link
    ("docs/accounts.md", "Change of email"),
    ("docs/accounts.md", "Two-factor sign-in"),  # codes from an authenticator app
    ("docs/accounts.md", "With curl"),  # passkeys: an authenticator (test_passkeys_browser.py)
    ("docs/attachments.md", "Routes"),  # files of one's own (tests/files run the same calls)
    ("docs/attachments.md", "S3-compatible stores"),  # a store's settings
}
BASE_LINE = "BASE=http://127.0.0.1:${PORT:-8000}"
# Where a reader pastes the token of the link an email brought (docs/accounts.md): the test
# reads it from the server's log, as the reader does (SMTP_URL=console).
PASTED_LINK_TOKEN = "LINK_TOKEN=paste-the-token-of-the-link-here"
# `forgot` answered, then `reset` with the token of the link the email brought.
RESET_BY_THE_EMAILED_LINK = '{"status":"accepted"}HTTP/1.1 204 No Content'
LINK_TOKEN_FROM_THE_LOG = (
    "LINK_TOKEN=$(for _ in $(seq 200); do grep -o 'reset-password?token=[^ ]*' server.log "
    "| tail -1 | cut -d= -f2 | grep . && break; sleep 0.1; done)"
)


def _shell_blocks(page: str) -> list[tuple[str, str]]:
    """Each ```sh block of the page, with the heading it is under."""
    blocks = []
    section = ""
    text = (ROOT / page).read_text()
    # Headings, and fenced blocks whole (a `# comment` in one is no heading).
    fences = r"^#+ ([^\n]*)$|^```(\w*)\n(.*?)^```"
    for found in re.finditer(fences, text, re.MULTILINE | re.DOTALL):
        if found.group(1) is not None:
            section = found.group(1)
        elif found.group(2) == "sh":
            blocks.append((section, found.group(3)))
    return blocks


def _walkthroughs(pages: tuple[str, ...] = PAGES) -> str:
    return "\n".join(
        block
        for page in pages
        for section, block in _shell_blocks(page)
        if (page, section) not in NOT_WALKTHROUGHS
    )


def _server_env(tmp_path: Path, port: int) -> dict[str, str]:
    """What a reader's `make serve` has, with the settings the pages start it with."""
    return clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path}/todo.db",
        JWT_SECRET=TEST_SECRET,
        # The webhook's receiver, here: nothing listens there (its deliveries fail).
        WEBHOOK_ALLOW_PRIVATE_URLS="true",
        # Accounts: emails written to the log, links to the service's own pages.
        SMTP_URL="console",
        PUBLIC_URL=f"http://127.0.0.1:{port}",
    )


def _as_run_here(script: str, suffix: str) -> str:
    """A walkthrough with this checkout's program, the test's own users, and the link tokens
    read from the server's log."""
    return (
        script.replace(".venv/bin/todo-api", TODO_API)
        .replace("--sub alice", f"--sub alice-{suffix}")
        .replace("--sub bob", f"--sub bob-{suffix}")
        .replace("ada@example.com", f"ada-{suffix}@example.com")
        .replace(PASTED_LINK_TOKEN, LINK_TOKEN_FROM_THE_LOG)
    )


def test_every_block_is_run_or_named_as_no_walkthrough() -> None:
    pages = ["README.md", *(str(path.relative_to(ROOT)) for path in (ROOT / "docs").glob("*.md"))]
    for page in pages:
        for section, _block in _shell_blocks(page):
            assert page in PAGES or (page, section) in NOT_WALKTHROUGHS, (page, section)
    for page, section in NOT_WALKTHROUGHS:
        assert any(found == section for found, _ in _shell_blocks(page)), (page, section)


def test_every_page_reaches_the_service_at_one_base() -> None:
    for page in PAGES:
        text = (ROOT / page).read_text()
        blocks = "\n".join(
            block
            for section, block in _shell_blocks(page)
            if (page, section) not in NOT_WALKTHROUGHS
        )
        assert "127.0.0.1:8000" not in blocks, page
        assert "localhost:8000" not in blocks, page
        if "$BASE" in blocks:
            assert BASE_LINE in blocks, page
        assert re.findall(r"^BASE=.*$", text, re.MULTILINE) in ([], [BASE_LINE]), page


def test_the_walkthroughs_do_what_their_comments_say(tmp_path: Path) -> None:
    # On the store a reader's `make serve` gives (SQLite): the answers are the same on
    # PostgreSQL, which the rest of the suite proves route by route.
    port = free_port()
    env = _server_env(tmp_path, port)
    # The walkthroughs' subjects, made unique (as on a database a reader shares).
    suffix = uuid.uuid4().hex[:8]
    # The files the walkthroughs read (tests/fixtures), where a reader in the clone has them.
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    with running_server(tmp_path, env, tmp_path / "server.log", port) as server:
        assert PASTED_LINK_TOKEN in _walkthroughs()
        script = _as_run_here(_walkthroughs(), suffix).replace(
            "https://bot.example.com/todo", f"http://127.0.0.1:{free_port()}/todo"
        )
        # A stream runs until stopped: this one after 3 s (curl's "timed out" is 28).
        stream = 'curl -N $BASE/api/events -H "$AUTH"'
        assert stream in script
        script = script.replace(stream, f"{{ {stream} --max-time 3 || test $? -eq 28; }}")
        result = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", script],
            env={**env, "PORT": str(server.port)},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        # A file the reader does not have: your-data's curl says so and fails.
        curl = re.search(r"^CURL=.*$", (ROOT / "docs/your-data.md").read_text(), re.MULTILINE)
        assert curl
        missing = subprocess.run(
            [
                "bash",
                "-c",
                f"{curl.group(0)}\n"
                f'AUTH="Authorization: Bearer {server_token(env, f"carol-{suffix}")}"\n'
                '"${CURL[@]}" -X POST "$BASE/api/import?source=ics" -H "$AUTH" '
                "-H 'Content-Type: text/calendar' --data-binary @tests/fixtures/missing.ics",
            ],
            env={**env, "BASE": server.url},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert missing.returncode == 22, missing.stderr  # curl's "the server answered an error"
    assert 'Couldn\'t read data from file "tests/fixtures/missing.ics"' in missing.stderr
    assert "The file is empty" in missing.stdout
    out = result.stdout
    # Each error the comments show, in the format they show it.
    for comment in re.findall(r"^# (\{\"error\".*\})$", script, re.MULTILINE):
        assert comment in out, comment
    assert '"role":"viewer"' in out
    assert out.count("HTTP/1.1 204") >= 3  # the task, the list, and Bob leaving
    # Time zones: the all-day task, and the stand-up at 09:00 New York time after the change.
    assert '"due_at":null,"due_date":"2026-12-24","start_at":null' in out
    assert '"start_date":null,"timezone":"Europe/Berlin"' in out
    assert '"due_at":"2026-11-02T14:00:00Z","due_date":null,' in out
    assert '"start_date":null,"timezone":"America/New_York"' in out
    # Reminders: the two listed in their order, then the new one that replaced them.
    assert '"fires_at":"2030-12-22T18:00:00Z"},{"task_id"' in out
    assert '"reminders":[{"id":' in out
    assert '"at":"2030-12-23T08:00:00Z"}]' in out
    # Built-in accounts: registered, signed in, refreshed; the password reset by the emailed
    # link (204), then changed back.
    assert f'"email":"ada-{suffix}@example.com"' in out
    assert RESET_BY_THE_EMAILED_LINK in out
    assert out.count('"token_type":"bearer"') >= 3
    # Live updates: the stream's first message.
    assert "event: changes" in out
    # CalDAV: the discovery, the to-do put (201) and read back as a task and by REPORT.
    assert "<c:calendar-home-set><d:href>/dav/calendars/" in out
    assert "HTTP/1.1 201 Created" in out
    assert '"title":"Water the plants"' in out
    assert '"priority":"high","due_at":"2030-12-24T17:00:00Z"' in out
    assert "inbox/water-the-plants.ics</d:href>" in out
    assert "SUMMARY:Water the plants" in out
    # MCP: initialize, tools/list, and the two calls.
    assert '"serverInfo":{"name":"todo-api"' in out
    assert '"name":"create_task"' in out
    assert '\\"title\\":\\"Call the plumber\\"' in out
    assert '"isError":false' in out
    assert '"isError":true' not in out
    # Your data: each import counted, the account deleted last.
    assert out.count('{"source":') >= 8
    assert '{"source":"trello","lists":1,"sections":1,"tasks":1' in out
    assert "HTTP/1.1 204 No Content" in out.split('{"source":')[-1]


# Pages whose walkthrough a reader may run alone, after the README's first request (its
# `BASE`, `TOKEN` and `AUTH`): each makes what it uses, and what the page shows comes back.
ALONE = {
    "docs/quick-add-and-filters.md": [
        '"kind":"list","value":"Home"',  # the quick add read #Home as the list
        '"name":"Work now","query":"(today | overdue) & #Work"',
    ],
    "docs/accounts.md": [
        RESET_BY_THE_EMAILED_LINK,
        '"access_token":',  # signed in with the new password, then changed back
    ],
}


@pytest.mark.parametrize("page", sorted(ALONE))
def test_a_page_s_walkthrough_makes_what_it_uses(tmp_path: Path, page: str) -> None:
    port = free_port()
    env = _server_env(tmp_path, port)
    with running_server(tmp_path, env, tmp_path / "server.log", port):
        script = _walkthroughs(("README.md", page))
        result = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", _as_run_here(script, uuid.uuid4().hex[:8])],
            env={**env, "PORT": str(port)},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert '"code":"VALIDATION_ERROR"' not in result.stdout
    for shown in ALONE[page]:
        assert shown in result.stdout, shown
