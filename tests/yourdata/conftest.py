"""Fixtures of the tests of your data: an app whose webhooks may point at 127.0.0.1 (nothing
delivers them: their deliveries stay pending, for the tests to read), and clients of it."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.support import app_for, client_for, make_settings, token_for
from todo_api.config import Settings


@pytest.fixture
def data_settings(settings: Settings, tmp_path: Path) -> Settings:
    return make_settings(
        settings.database_url or "",
        tmp_path,
        webhook_allow_private_urls=True,
        import_max_bytes=64 * 1024,
    )


@pytest.fixture
async def data_app(data_settings: Settings) -> AsyncIterator[FastAPI]:
    async with app_for(data_settings) as app:
        yield app


@pytest.fixture
def person(data_app: FastAPI, data_settings: Settings) -> Callable[..., httpx.AsyncClient]:
    """A client signed in as a new user (or as `subject`, with `email`)."""

    def make(subject: str | None = None, email: str | None = None) -> httpx.AsyncClient:
        return client_for(data_app, token_for(data_settings, subject, email))

    return make
