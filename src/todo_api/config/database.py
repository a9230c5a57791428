"""The settings of the database: where it is (DATABASE_URL, else a SQLite file under DATA_DIR;
DATABASE_DIRECT_URL for migrations behind a pooler), how long the start waits for it, the pool,
and the URL people paste made into the async one SQLAlchemy needs. A group of its own, which
`todo_api.config.Settings` inherits."""

from pathlib import Path
from typing import Any, Self

from pydantic import Field
from pydantic_settings import BaseSettings
from sqlalchemy.engine import URL, make_url

from todo_api.config.errors import ConfigError
from todo_api.config.replicas import with_driver

SQLITE_FILE_NAME = "todo.db"

# libpq options that people paste in URLs and asyncpg does not take as keywords.
_LIBPQ_ONLY_PARAMS = frozenset(
    ["sslmode", "channel_binding", "sslrootcert", "sslcert", "sslkey", "gssencmode"]
)


class DatabaseSettings(BaseSettings):
    database_url: str | None = None
    # Where migrations run when DATABASE_URL is a pooler in transaction mode (Neon's pooled
    # URL): advisory locks need a session. Unset: DATABASE_URL.
    database_direct_url: str | None = None
    # At start-up, an unreachable database is tried again for this long, then the process
    # exits (non-zero) with one line.
    database_connect_timeout: float = Field(default=30, ge=0, le=3600)
    # A migration that does not get its lock within lock_timeout is tried again, this many
    # times in all, with a pause between (migrations/online.py).
    migration_lock_attempts: int = Field(default=8, ge=1, le=100)
    # The service's own folder: its SQLite file when DATABASE_URL is unset, the development
    # secret.
    data_dir: Path = Path("data")
    # Connections kept per process (as many again may open under bursts). Sized for the
    # concurrency one worker sees, so that busy periods do not open and close connections.
    database_pool_size: int = Field(default=20, ge=1, le=200)
    # asyncpg's prepared-statement cache breaks behind PgBouncer in transaction mode
    # (Neon's "-pooler" hosts); None means "off for pooler hosts, on otherwise".
    database_statement_cache: bool | None = None

    @property
    def sqlalchemy_url(self) -> URL:
        return normalize_database_url(self.database_url or self.default_sqlite_url())

    def database_summary(self) -> str:
        """Which database, for the log: never the password."""
        url = self.sqlalchemy_url
        if self.is_sqlite:
            return f"SQLite file {url.database}"
        return f"PostgreSQL {url.host}:{url.port or 5432}/{url.database}"

    def for_migrations(self) -> Self:
        """These settings with DATABASE_DIRECT_URL, when it is set, as the database."""
        if not self.database_direct_url:
            return self
        return self.model_copy(update={"database_url": self.database_direct_url})

    def default_sqlite_url(self) -> str:
        return f"sqlite:///{self.data_dir / SQLITE_FILE_NAME}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.get_backend_name() == "sqlite"

    def connect_args(self) -> dict[str, Any]:
        """Driver keywords that do not travel in the URL (asyncpg's ssl and statement cache)."""
        if self.is_sqlite:
            return {}
        original = make_url(with_driver(self.database_url or "", "postgresql"))
        args: dict[str, Any] = {}
        sslmode = original.query.get("sslmode")
        if isinstance(sslmode, str) and sslmode != "disable":
            args["ssl"] = sslmode
        cache = self.database_statement_cache
        if cache is None:
            cache = "-pooler" not in (original.host or "")
        if not cache:
            args["statement_cache_size"] = 0
        return args


def normalize_database_url(raw: str, variable: str = "DATABASE_URL") -> URL:
    """Turn what people paste into the async URL SQLAlchemy needs.

    `postgres://`, `postgresql://`, `postgresql+psycopg2://` and `postgresql+asyncpg://` all
    become asyncpg; libpq-only query options (Neon's `sslmode`, `channel_binding`) are removed
    here and translated by `Settings.connect_args`. `sqlite:///path` becomes aiosqlite.
    """
    scheme = raw.partition("://")[0].lower()
    if scheme in {"postgres", "postgresql"} or scheme.startswith("postgresql+"):
        try:
            url = make_url(with_driver(raw, "postgresql+asyncpg"))
            url.port  # noqa: B018 - a port that is not a number fails here, not at connect time
        except ValueError:
            raise ConfigError(f"{variable} is not a valid URL (check the host and port)") from None
        if not url.host or not url.database:
            # libpq would fill in its own defaults: refuse rather than use some other database.
            raise ConfigError(f"{variable} must name the host and the database")
        query = {k: v for k, v in url.query.items() if k not in _LIBPQ_ONLY_PARAMS}
        return url.set(query=query)
    if scheme == "sqlite" or scheme.startswith("sqlite+"):
        return make_url(with_driver(raw, "sqlite+aiosqlite"))
    raise ConfigError(
        f"{variable} must start with postgresql://, postgres:// or sqlite:/// "
        f"(got a URL starting with {scheme!r})"
    )
