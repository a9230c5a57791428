"""The settings of read replicas (todo_api.db.replicas): where requests that only read may go,
and how far behind a replica may be and still answer. A group of its own, which
`todo_api.config.Settings` inherits, as config/attachments.py is.

Checked when the settings are read: a replica only makes sense beside a PostgreSQL primary,
and each must be PostgreSQL itself (a hot standby, or a read replica endpoint such as Neon's),
so SQLite on either side stops the start with one line."""

from typing import Annotated, Any, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode
from sqlalchemy.engine import make_url

POSTGRES_SCHEMES = ("postgres://", "postgresql://", "postgresql+")


class ReplicaSettings(BaseSettings):
    # PostgreSQL hot standbys (or read replica endpoints), comma-separated: requests that only
    # read are answered there while they keep up. Unset: everything on DATABASE_URL.
    database_read_urls: Annotated[list[str], NoDecode] = []
    # A replica further behind the primary than this, in seconds, answers nothing until it
    # catches up.
    database_read_max_lag_seconds: float = Field(default=5.0, gt=0, le=3600)

    @field_validator("database_read_urls", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @field_validator("database_read_urls")
    @classmethod
    def _postgres_only(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.lower().startswith(POSTGRES_SCHEMES):
                raise ValueError(
                    "each read replica must be a PostgreSQL URL (postgresql://...); "
                    "SQLite has no replicas"
                )
            try:  # a port that is not a number fails here, not at connect time
                parsed = make_url(with_driver(url, "postgresql"))
                parsed.port  # noqa: B018
            except ValueError:
                raise ValueError("a URL is not valid (check the host and port)") from None
            if not parsed.host or not parsed.database:
                raise ValueError("each URL must name the host and the database")
        return urls

    @model_validator(mode="after")
    def _beside_postgres(self) -> Self:
        primary: str | None = getattr(self, "database_url", None)
        if self.database_read_urls and not (primary or "").lower().startswith(POSTGRES_SCHEMES):
            raise ValueError(
                "DATABASE_READ_URLS needs DATABASE_URL to be PostgreSQL: SQLite has no replicas"
            )
        return self

    def replica_settings(self) -> list[Self]:
        """These settings once for each read replica, with it as the database."""
        return [
            self.model_copy(update={"database_url": url, "database_direct_url": None})
            for url in self.database_read_urls
        ]


def with_driver(url: str, backend: str) -> str:
    """Swap whatever scheme a URL has for `backend` (sync spelling, for parsing only)."""
    _, sep, rest = url.partition("://")
    return f"{backend}://{rest}" if sep else url
