"""Settings: DATABASE_URL normalisation, secrets, origins. No database needed."""

import logging
import secrets
import stat
from pathlib import Path
from typing import Any

import pytest

from todo_api.config import (
    ConfigError,
    Settings,
    load_settings,
    normalize_database_url,
)

STRONG_SECRET = "x" * 40
# Every variable the service reads (one per field, so new settings are covered too).
SERVICE_VARIABLES = sorted(
    {name.upper() for name in Settings.model_fields} | {"BETTER_AUTH_SECRET"}
)
NEON_POOLER_URL = (
    "postgresql://u:p@ep-x-pooler.eu-central-1.aws.neon.tech/db"
    "?sslmode=require&channel_binding=require"
)
NEON_DIRECT_URL = "postgresql://u:p@ep-x.eu-central-1.aws.neon.tech/db?sslmode=require"


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No variable of the service set, and a cwd without a `.env`."""
    for name in SERVICE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def settings_for(database_url: str | None = None, **values: Any) -> Settings:
    return Settings(_env_file=None, database_url=database_url, **values)


# --- DATABASE_URL -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "postgres://u:p@db.example/app",
        "postgresql://u:p@db.example/app",
        "postgresql+asyncpg://u:p@db.example/app",
        "postgresql+psycopg2://u:p@db.example/app",
    ],
)
def test_every_postgres_spelling_becomes_asyncpg(raw: str) -> None:
    url = normalize_database_url(raw)
    assert url.drivername == "postgresql+asyncpg"
    assert (url.username, url.password, url.host, url.database) == ("u", "p", "db.example", "app")


def test_neon_pooler_url_loses_libpq_options_and_gets_ssl_without_statement_cache() -> None:
    settings = settings_for(NEON_POOLER_URL)
    url = settings.sqlalchemy_url
    assert url.drivername == "postgresql+asyncpg"
    assert url.host == "ep-x-pooler.eu-central-1.aws.neon.tech"
    assert "sslmode" not in url.query
    assert "channel_binding" not in url.query
    assert settings.connect_args() == {"ssl": "require", "statement_cache_size": 0}


def test_neon_direct_host_keeps_the_statement_cache() -> None:
    settings = settings_for(NEON_DIRECT_URL)
    assert "sslmode" not in settings.sqlalchemy_url.query
    assert settings.connect_args() == {"ssl": "require"}


def test_statement_cache_setting_overrides_the_pooler_guess() -> None:
    settings = settings_for(NEON_POOLER_URL, database_statement_cache=True)
    assert settings.connect_args() == {"ssl": "require"}


def test_sslmode_disable_adds_no_ssl() -> None:
    settings = settings_for("postgresql://u@localhost/app?sslmode=disable")
    assert settings.connect_args() == {}


def test_sqlite_path_becomes_aiosqlite(tmp_path: Path) -> None:
    url = normalize_database_url(f"sqlite:///{tmp_path}/todo.db")
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database == f"{tmp_path}/todo.db"
    assert settings_for(f"sqlite:///{tmp_path}/todo.db").connect_args() == {}


def test_unknown_scheme_is_refused_naming_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        normalize_database_url("mysql://u:p@db.example/app")
    monkeypatch.setenv("DATABASE_URL", "mysql://u:p@db.example/app")
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_settings()


def test_postgres_url_from_the_environment_is_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example/app")
    assert load_settings().sqlalchemy_url.drivername == "postgresql+asyncpg"


def test_default_database_is_a_sqlite_file_under_data_dir(tmp_path: Path) -> None:
    settings = settings_for(data_dir=tmp_path / "store")
    url = settings.sqlalchemy_url
    assert settings.is_sqlite
    assert url.drivername == "sqlite+aiosqlite"
    assert Path(url.database or "") == tmp_path / "store" / "todo.db"


def test_default_data_dir_is_data_in_the_working_directory() -> None:
    url = load_settings().sqlalchemy_url
    assert url.drivername == "sqlite+aiosqlite"
    assert Path(url.database or "") == Path("data") / "todo.db"


# --- JWT_SECRET ---------------------------------------------------------------------------


def test_production_without_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV", "production")
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        load_settings()


def test_production_with_a_short_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("JWT_SECRET", "0123456789")
    with pytest.raises(ConfigError, match="JWT_SECRET must be at least 32 bytes"):
        load_settings()


def test_production_with_a_strong_secret_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("JWT_SECRET", STRONG_SECRET)
    settings = load_settings()
    assert settings.signing_secret() == STRONG_SECRET


def test_better_auth_secret_is_an_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("BETTER_AUTH_SECRET", STRONG_SECRET)
    assert load_settings().signing_secret() == STRONG_SECRET


def test_short_better_auth_secret_is_refused_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("BETTER_AUTH_SECRET", "0123456789")
    with pytest.raises(ConfigError, match="BETTER_AUTH_SECRET must be at least 32 bytes"):
        load_settings()


def test_dot_env_file_in_the_working_directory_is_read(isolated_environment: Path) -> None:
    (isolated_environment / ".env").write_text(f"JWT_SECRET={STRONG_SECRET}\nENV=production\n")
    settings = load_settings()
    assert settings.env == "production"
    assert settings.signing_secret() == STRONG_SECRET


@pytest.fixture
def todo_api_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> pytest.LogCaptureFixture:
    """caplog for the `todo_api` logger, which `configure_logging` stops from propagating."""
    monkeypatch.setattr(logging.getLogger("todo_api"), "propagate", True)
    caplog.set_level(logging.WARNING, logger="todo_api")
    return caplog


def test_development_secret_is_generated_once_kept_private_and_warned_about(
    tmp_path: Path, todo_api_log: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    settings = settings_for(data_dir=data_dir)

    secret = settings.signing_secret()

    path = data_dir / "jwt_secret"
    assert path.read_text().strip() == secret
    assert len(secret.encode()) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    warnings = [r for r in todo_api_log.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "JWT_SECRET" in warnings[0].getMessage()
    assert secret not in todo_api_log.text

    todo_api_log.clear()
    assert settings.signing_secret() == secret
    assert settings_for(data_dir=data_dir).signing_secret() == secret
    assert not todo_api_log.records


def test_an_empty_secret_file_is_replaced_by_a_generated_secret(tmp_path: Path) -> None:
    path = tmp_path / "jwt_secret"
    path.touch(mode=0o600)  # what a crash between creating and writing the file leaves

    secret = settings_for(data_dir=tmp_path).signing_secret()

    assert len(secret.encode()) >= 32
    assert path.read_text().strip() == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_secret_written_meanwhile_by_another_process_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "jwt_secret"
    theirs = "secret-of-the-process-that-got-there-first-0123456789"
    real_token_urlsafe = secrets.token_urlsafe

    def other_process_finishes_first(nbytes: int | None = None) -> str:
        path.write_text(theirs)
        return real_token_urlsafe(nbytes)

    monkeypatch.setattr(secrets, "token_urlsafe", other_process_finishes_first)

    assert settings_for(data_dir=tmp_path).signing_secret() == theirs
    assert path.read_text() == theirs


# --- FRONTEND_URL -------------------------------------------------------------------------


def test_frontend_url_is_split_into_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTEND_URL", "http://a.test, http://b.test/")
    assert load_settings().frontend_url == ["http://a.test", "http://b.test"]


def test_frontend_url_defaults_to_localhost_3000_by_name_and_in_development_by_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().frontend_url == ["http://localhost:3000", "http://127.0.0.1:3000"]
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("JWT_SECRET", "x" * 32)
    assert load_settings().frontend_url == ["http://localhost:3000"]


def test_a_frontend_url_given_is_the_whole_list_in_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRONTEND_URL", "http://localhost:3000")
    assert load_settings().frontend_url == ["http://localhost:3000"]


def test_frontend_url_wildcard_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTEND_URL", "*")
    with pytest.raises(ConfigError, match="FRONTEND_URL"):
        load_settings()


# --- operating: the direct URL, start-up and shutdown ---------------------------------------


def test_migrations_use_the_direct_url_with_its_own_driver_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", NEON_POOLER_URL)
    monkeypatch.setenv("DATABASE_DIRECT_URL", NEON_DIRECT_URL)
    settings = load_settings(_env_file=None)

    serving, migrating = settings, settings.for_migrations()

    assert serving.sqlalchemy_url.host == "ep-x-pooler.eu-central-1.aws.neon.tech"
    assert serving.connect_args() == {"ssl": "require", "statement_cache_size": 0}
    assert migrating.sqlalchemy_url.host == "ep-x.eu-central-1.aws.neon.tech"
    assert migrating.connect_args() == {"ssl": "require"}


def test_without_a_direct_url_migrations_use_database_url() -> None:
    settings = settings_for(NEON_DIRECT_URL)
    assert settings.for_migrations().sqlalchemy_url == settings.sqlalchemy_url


def test_operating_defaults() -> None:
    settings = settings_for()
    assert settings.database_connect_timeout == 30
    assert settings.shutdown_delay_seconds == 0
    assert settings.shutdown_grace_seconds == 30


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_CONNECT_TIMEOUT", "-1"),
        ("SHUTDOWN_DELAY_SECONDS", "soon"),
        ("SHUTDOWN_GRACE_SECONDS", "-5"),
    ],
)
def test_a_bad_operating_setting_is_one_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None)
    assert name in str(raised.value)
    assert "\n" not in str(raised.value)


# --- APP_NAME, APP_ICON ------------------------------------------------------------------


def test_the_app_is_called_tasks_unless_named() -> None:
    assert settings_for().app_name == "Tasks"
    assert settings_for().app_icon is None
    assert settings_for(app_name="  Acme Lists ").app_name == "Acme Lists"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("APP_NAME", ""),
        ("APP_NAME", "   "),
        ("APP_NAME", "Acme\x07Lists"),
        ("APP_NAME", "Acme\u2028Lists"),
        ("APP_ICON", "missing.png"),
        ("APP_ICON", "words.png"),
        ("APP_ICON", "words.svg"),
    ],
)
def test_a_bad_name_or_icon_is_one_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, isolated_environment: Path, name: str, value: str
) -> None:
    (isolated_environment / "words.png").write_text("not a picture")
    (isolated_environment / "words.svg").write_text("not a picture either")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None)
    assert f"{name}:" in str(raised.value)
    assert "\n" not in str(raised.value)
