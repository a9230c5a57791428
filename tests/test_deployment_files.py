"""The files a deployment starts from (.env.example, compose.yaml) name only what the service
reads, and every setting it needs. The image itself is built and run in test_container.py."""

import re
from pathlib import Path

import yaml

from todo_api.config import Settings

ROOT = Path(__file__).resolve().parents[1]
# What compose.yaml itself reads from .env.
COMPOSE_VARIABLES = {"POSTGRES_PASSWORD"}
# The Configuration section of the contract, and what a deployment behind a proxy sets.
NEEDED = {"ENV", "JWT_SECRET", "DATABASE_URL", "FRONTEND_URL", "LOG_LEVEL", "PUBLIC_URL", "PORT"}


def _env_example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))


def test_env_example_names_settings_the_service_reads() -> None:
    settings = {name.upper() for name in Settings.model_fields} | {"PORT", "HOST"}
    names = _env_example_names()
    assert names - settings - COMPOSE_VARIABLES == set()
    assert names >= NEEDED


def test_compose_runs_the_image_beside_postgresql_with_redis_optional() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    api = services["api"]
    assert api["build"] == "."
    assert api["read_only"] is True
    assert "data:/data" in api["volumes"]
    assert api["depends_on"]["db"]["condition"] == "service_healthy"
    assert "postgresql://" in api["environment"]["DATABASE_URL"]
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["profiles"] == ["redis"]
    assert "profiles" not in api
    assert "profiles" not in services["db"]
