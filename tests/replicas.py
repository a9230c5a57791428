"""A primary and hot standbys of their own, for the read replica tests (todo_api.kit.reads).

Debian's PostgreSQL 15 programs make them in a temporary folder, on free ports: `initdb` for
the primary, `pg_basebackup -R` for each standby (streaming replication, hot_standby on), so
the machine's own server is never touched. Small and unsafe on purpose (fsync off, small
buffers): they live for one test module. Without the programs the tests skip, and fail in CI.

`Cluster.pause(standby)` stops a standby's replay (`pg_wal_replay_pause()`): lag at will;
`resume` lets it catch up; `stop` and `start` take it away and back. A `Proxy` between the
service and a server holds back the server's answers, or the close of a session it ended.
"""

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from todo_api.db.replicas import WAL_POSITION

IN_CI = os.environ.get("CI", "").lower() == "true"  # (as tests/support.py says it)
BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
# initdb and postgres refuse to run as root: the server's own user runs them then.
RUN_AS = "postgres"
SETTINGS = (
    "fsync=off",
    "synchronous_commit=off",  # (a commit returns before its WAL is written: the harder case)
    "full_page_writes=off",
    "shared_buffers=16MB",
    "max_connections=60",
    "wal_level=replica",
    "max_wal_senders=6",
    "hot_standby=on",
    "wal_receiver_status_interval=1s",
    "hot_standby_feedback=on",
    # A standby stopped and started again resumes from its last restart point: the primary
    # keeps the WAL since then (no slot, no archive).
    "wal_keep_size=256MB",
    "listen_addresses='127.0.0.1'",
    "unix_socket_directories=''",
    "logging_collector=off",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(*args: str) -> None:
    command = list(args)
    if os.geteuid() == 0:
        command = ["runuser", "-u", RUN_AS, "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


@dataclass
class Server:
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/todo"

    def sql(self, statement: str) -> str:
        """`statement`'s one value, as psql prints it (`t`, `f`, a number)."""
        done = subprocess.run(
            [
                str(BIN / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-XAtqc",
                statement,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return done.stdout.strip()

    def start(self) -> None:
        _run(
            str(BIN / "pg_ctl"),
            "-D",
            str(self.folder),
            "-w",
            "-l",
            str(self.folder / "log"),
            "start",
        )

    def stop(self) -> None:
        _run(str(BIN / "pg_ctl"), "-D", str(self.folder), "-w", "-m", "fast", "stop")


@dataclass
class Cluster:
    primary: Server
    standbys: list[Server] = field(default_factory=list)

    def pause(self, standby: Server) -> None:
        standby.sql("SELECT pg_wal_replay_pause()")

    def resume(self, standby: Server) -> None:
        standby.sql("SELECT pg_wal_replay_resume()")

    def caught_up(self, standby: Server, timeout: float = 10) -> None:
        """Waits until `standby` has replayed all the primary has written now."""
        target = self.primary.sql(f"SELECT {WAL_POSITION}")  # (as the service measures it)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replayed = standby.sql("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn")
            if int(replayed) >= int(target):
                return
            time.sleep(0.02)
        raise AssertionError(f"the standby on {standby.port} did not catch up")


class Proxy:
    """A TCP proxy to the server on `port` (`async with`; `url`) that passes everything both
    ways, except:

    - after `stall()`, nothing the server sends until `flow()` (a statement that hangs);
      `asked` keeps what clients sent meanwhile;
    - while `holding`, a session the server ends (a standby stopping, a backend terminated)
      is not closed on the client's side until `release()`: the client has the server's last
      message, its FATAL error, but not the close after it. A busy process is there for a turn
      of its event loop or two, between reading the one and seeing the other; here it stays.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.holding = False
        self.held: list[asyncio.StreamWriter] = []  # the client sides of sessions ended
        self.asked: list[bytes] = []
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"postgresql://postgres@127.0.0.1:{port}/todo"

    def stall(self) -> None:
        self.asked.clear()
        self._flowing.clear()

    def flow(self) -> None:
        self._flowing.set()

    def release(self) -> None:
        """Closes what was held, and holds nothing from now on."""
        self.holding = False
        for writer in self.held:
            writer.close()

    async def __aenter__(self) -> "Proxy":
        self._server = await asyncio.start_server(self._pass, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.flow()
        self.release()
        assert self._server is not None
        self._server.close()

    async def _pass(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        server, to_server = await asyncio.open_connection("127.0.0.1", self.port)

        async def up() -> None:
            with contextlib.suppress(OSError):
                while data := await client.read(65536):
                    if not self._flowing.is_set():
                        self.asked.append(data)
                    to_server.write(data)
                    await to_server.drain()
            to_server.close()

        async def down() -> None:
            with contextlib.suppress(OSError):
                while data := await server.read(65536):
                    await self._flowing.wait()
                    to_client.write(data)
                    await to_client.drain()
            if self.holding:
                self.held.append(to_client)
            else:
                to_client.close()

        await asyncio.gather(up(), down())


@contextlib.contextmanager
def cluster(standbys: int = 1, *settings: str) -> Iterator[Cluster]:
    """A primary with a database `todo` and `standbys` hot standbys streaming from it; each
    of `settings` (`name=value`) after SETTINGS."""
    if not (BIN / "initdb").exists() or not (BIN / "pg_basebackup").exists():
        if IN_CI:
            pytest.fail(f"PostgreSQL's programs are not in {BIN} (a standby needs them)")
        pytest.skip(f"PostgreSQL's programs are not in {BIN}")
    root = Path(tempfile.mkdtemp(prefix="todo-replicas-"))
    if os.geteuid() == 0:
        shutil.chown(root, RUN_AS)
    servers: list[Server] = []
    try:
        primary = Server(root / "primary", _free_port())
        _run(
            str(BIN / "initdb"),
            "-D",
            str(primary.folder),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        config = [*SETTINGS, *settings, f"port={primary.port}"]
        with (primary.folder / "postgresql.auto.conf").open("a") as conf:
            conf.write("\n".join(config) + "\n")
        with (primary.folder / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        primary.start()
        servers.append(primary)
        primary.sql("CREATE DATABASE todo")
        made = Cluster(primary)
        for n in range(standbys):
            standby = Server(root / f"standby{n}", _free_port())
            _run(
                str(BIN / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                str(standby.folder),
                "-R",
                "-X",
                "stream",
                "--no-sync",
                "-c",
                "fast",
            )
            with (standby.folder / "postgresql.auto.conf").open("a") as conf:
                conf.write(f"port={standby.port}\n")
            standby.start()
            servers.append(standby)
            made.standbys.append(standby)
        for standby in made.standbys:
            made.caught_up(standby)
        yield made
    finally:
        for server in reversed(servers):
            with contextlib.suppress(subprocess.SubprocessError):
                server.stop()
        shutil.rmtree(root, ignore_errors=True)
