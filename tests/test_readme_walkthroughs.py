"""The curl walkthroughs of the README and docs/, run as written against a real server: a reader
who copies them gets what the comments say."""

import re
import subprocess
import uuid
from pathlib import Path

from tests.helpers_server import TODO_API, clean_env, running_server
from tests.support import TEST_SECRET

ROOT = Path(__file__).resolve().parents[1]
# (page, section), in the order a reader goes: the README's first request, then "Try it with
# curl", whose variables the other pages' walkthroughs use.
WALKTHROUGHS = (
    ("README.md", "A first request"),
    ("docs/tasks.md", "Try it with curl"),
    ("docs/lists-and-sharing.md", "Lists, subtasks and manual order"),
    ("docs/lists-and-sharing.md", "Sharing a list"),
    ("docs/time-zones.md", "Time zones and all-day tasks"),
    ("docs/reminders.md", "Reminders"),
    ("docs/tokens.md", "Tokens"),
)


def _shell_block(page: str, section: str) -> str:
    text = "\n" + (ROOT / page).read_text()
    start = re.search(rf"\n#+ {re.escape(section)}\n", text).start()  # type: ignore[union-attr]
    found = re.search(r"```sh\n(.*?)```", text[start:], re.DOTALL)
    assert found, section
    return found.group(1)


def test_the_walkthroughs_do_what_their_comments_say(
    server_database_url: str, tmp_path: Path
) -> None:
    env = clean_env(DATABASE_URL=server_database_url, JWT_SECRET=TEST_SECRET)
    # Users of their own on a shared database: the walkthroughs' subjects, made unique.
    suffix = uuid.uuid4().hex[:8]
    with running_server(tmp_path, env, tmp_path / "server.log") as server:
        script = "\n".join(_shell_block(page, section) for page, section in WALKTHROUGHS)
        script = (
            script.replace("http://127.0.0.1:8000", server.url)
            .replace(".venv/bin/todo-api", TODO_API)
            .replace("--sub alice", f"--sub alice-{suffix}")
            .replace("--sub bob", f"--sub bob-{suffix}")
        )
        result = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", script],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr
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
