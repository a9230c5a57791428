"""The container image (Dockerfile), built and run with podman as a deployment runs it: a
read-only root file system, a user other than root, SQLite in /data or PostgreSQL from
DATABASE_URL, /ready (within 20 s on an idle machine: the time is printed), and a graceful exit
0 on SIGTERM.

No container registry is needed: the `debian:bookworm-slim` base is made with debootstrap from
Debian's archive, once per machine (kept in .tools/container/, an ignored folder, and in podman's
image store). Without podman the test skips, except in CI (CI=true), where
scripts/setup-container.sh has installed it: there it must run. `make test-container` runs it,
beside `make test` in CI (.ci/run).
"""

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.helpers_server import free_port
from tests.support import ADMIN_URL, IN_CI, TEST_SECRET

ROOT = Path(__file__).resolve().parents[1]
PODMAN = shutil.which("podman")
if PODMAN is None:
    if IN_CI:
        pytest.fail("podman is required in CI (sh scripts/setup-container.sh)", pytrace=False)
    pytest.skip("podman is not installed (sh scripts/setup-container.sh)", allow_module_level=True)

BASE = "debian:bookworm-slim"
BASE_CACHE = ROOT / ".tools" / "container" / "debian-bookworm-slim.tar"
IMAGE = "localhost/todo-api:test"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# podman's defaults for these exceed what some machines allow a process.
ULIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]
# The contract's 20 s to /ready holds on an idle machine (about 13 s, most of it importing the
# application); a loaded one takes longer, and timings are judged in bench/, not here: the
# test waits longer and prints how long it took (`make test-container` shows it).
READY_WITHIN_SECONDS = 20.0
STARTUP_TIMEOUT = 90.0
BUILD_TIMEOUT = 900.0


def podman(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert PODMAN is not None
    result = subprocess.run(
        [PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: {result.returncode}\n{result.stderr}")
    return result


def _runtime() -> list[str]:
    # crun (podman's default) refuses hosts that mount cgroups v1 and v2 side by side; runc
    # runs everywhere.
    return ["--runtime", "runc"] if shutil.which("runc") else []


def _ensure_base() -> None:
    """debian:bookworm-slim in podman's store: from the cached tarball, else debootstrap."""
    if podman("image", "exists", BASE, check=False).returncode == 0:
        return
    if not BASE_CACHE.exists():
        debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
        BASE_CACHE.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=BASE_CACHE.parent) as work:
            root = Path(work) / "root"
            subprocess.run(
                [debootstrap, "--variant=minbase", "bookworm", str(root)],
                check=True,
                capture_output=True,
                timeout=600,
            )
            # What the slim image leaves out too: the downloaded packages and indexes.
            for index in (root / "var/lib/apt/lists").glob("*_*"):
                index.unlink()
            for package in root.glob("var/cache/apt/archives/*.deb"):
                package.unlink()
            partial = BASE_CACHE.with_suffix(".partial")
            subprocess.run(["tar", "-C", str(root), "-cf", str(partial), "."], check=True)
            partial.rename(BASE_CACHE)
    podman("import", str(BASE_CACHE), BASE, timeout=300)


def _build_arguments() -> list[str]:
    """How this machine reaches PyPI, handed to the build: the CA bundle its installs trust (a
    TLS-inspecting proxy's included) as the secret `ca`, an index other than PyPI's when pip is
    told of one. HTTP(S)_PROXY pass through by themselves (podman build --http-proxy)."""
    arguments = []
    for variable in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        bundle = os.environ.get(variable)
        if bundle and Path(bundle).is_file():
            arguments += ["--secret", f"id=ca,src={bundle}"]
            break
    else:
        if CA_BUNDLE.is_file():
            arguments += ["--secret", f"id=ca,src={CA_BUNDLE}"]
    index = os.environ.get("PIP_INDEX_URL", "")
    if index.startswith(("http://", "https://")):
        arguments += ["--build-arg", f"PIP_INDEX_URL={index}"]
    return arguments


@pytest.fixture(scope="module")
def image() -> str:
    _ensure_base()
    podman(
        "build",
        # No OCI runtime for the build steps (none is needed to run apt and pip).
        "--isolation",
        "chroot",
        # Docker's format keeps HEALTHCHECK (OCI's has no place for it).
        "--format",
        "docker",
        "--network",
        "host",
        *ULIMITS,
        *_build_arguments(),
        "--tag",
        IMAGE,
        str(ROOT),
        timeout=BUILD_TIMEOUT,
    )
    return IMAGE


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def environment(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The container's settings: SQLite in /data (DATABASE_URL unset), or a fresh PostgreSQL
    database of the machine's server, in production mode."""
    if request.param == "sqlite":
        yield {"JWT_SECRET": TEST_SECRET}
        return
    name = f"todo_container_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and did not answer at {ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL is not reachable at {ADMIN_URL}: {exc}")
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield {"DATABASE_URL": url, "JWT_SECRET": TEST_SECRET, "ENV": "production"}
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def container(image: str, environment: dict[str, str]) -> Iterator[tuple[str, str]]:
    """The image running with a read-only root file system; its name and base URL."""
    name = f"todo-api-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    settings = {**environment, "PORT": str(port)}
    started = time.monotonic()
    podman(
        "run",
        "--detach",
        "--name",
        name,
        *_runtime(),
        "--network",
        "host",
        # As Docker's --read-only: nothing writable but what is mounted, here /tmp (podman would
        # add /run and /var/tmp by itself) and the image's volume /data.
        "--read-only",
        "--read-only-tmpfs=false",
        "--tmpfs",
        "/tmp",  # noqa: S108 (the container's)
        *ULIMITS,
        *(arg for key, value in settings.items() for arg in ("--env", f"{key}={value}")),
        image,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(name, base, started)
        yield name, base
    finally:
        podman("rm", "--force", "--volumes", name, check=False)


def _wait_until_ready(name: str, base: str, started: float) -> None:
    deadline = started + STARTUP_TIMEOUT
    while True:
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                took = time.monotonic() - started
                note = "" if took <= READY_WITHIN_SECONDS else " (over the contract's 20 s)"
                print(f"{name}: /ready answered 200 {took:.1f} s after `podman run`{note}")
                return
        except httpx.HTTPError:
            pass
        logs = podman("logs", name, check=False)
        if time.monotonic() > deadline:
            raise AssertionError(
                f"/ready did not answer 200 within {STARTUP_TIMEOUT:g} s\n"
                f"{logs.stdout}{logs.stderr}"
            )
        state = podman("inspect", "--format", "{{.State.Running}}", name, check=False)
        assert state.stdout.strip() != "false", f"the container stopped\n{logs.stdout}{logs.stderr}"
        time.sleep(0.25)


def test_the_image_serves_as_a_user_on_a_read_only_root_and_stops_gracefully(
    container: tuple[str, str],
) -> None:
    name, base = container
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"

    with httpx.Client(base_url=base, timeout=30) as client:
        registered = client.post(
            "/api/auth/register",
            json={"email": email, "password": "correct horse battery", "name": "Ada"},
        )
        assert registered.status_code == 201, registered.text
        auth = {"Authorization": f"Bearer {registered.json()['access_token']}"}
        created = client.post("/api/tasks", headers=auth, json={"title": "Buy milk"})
        assert created.status_code == 201, created.text
        read = client.get(f"/api/tasks/{created.json()['id']}", headers=auth)
        assert read.status_code == 200, read.text
        assert read.json()["title"] == "Buy milk"

    # The serving process (PID 1) is not root; the root file system refuses writes, /data and
    # /tmp take them.
    status = podman("exec", name, "cat", "/proc/1/status").stdout
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    assert uid_line.split()[1:] == ["10001"] * 4, uid_line
    # Even root (in the container) may not write there.
    for path in ("/opt/todo-api/written", "/run/written", "/var/tmp/written"):  # noqa: S108
        refused = podman("exec", "--user", "0", name, "touch", path, check=False)
        assert refused.returncode != 0, path
        assert "Read-only file system" in refused.stderr, path
    podman("exec", name, "touch", "/data/written", "/tmp/written")  # noqa: S108 (the container's)
    # The build's CA bundle was for installing only.
    assert podman("exec", name, "test", "-e", "/run/secrets/ca", check=False).returncode == 1
    # The image's HEALTHCHECK passes.
    podman("healthcheck", "run", name)

    podman("kill", "--signal", "TERM", name)
    exit_code = podman("wait", name, timeout=60).stdout.strip()
    logs = podman("logs", name, check=False)
    assert exit_code == "0", f"{logs.stdout}{logs.stderr}"
    assert "Application shutdown complete" in logs.stdout + logs.stderr
