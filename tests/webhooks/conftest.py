"""Fixtures of the webhook tests: an app whose settings allow a receiver on 127.0.0.1, with
short retries, and its deliverer running."""

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.support import app_for, client_for, make_settings, token_for
from tests.webhooks.helpers import FAST, delivering
from tests.webhooks.receiver import Receiver, receiving
from todo_api.config import Settings


@pytest.fixture
def hook_settings(settings: Settings, tmp_path: Path) -> Settings:
    return make_settings(settings.database_url or "", tmp_path, **FAST)


@pytest.fixture
async def hook_app(hook_settings: Settings) -> AsyncIterator[FastAPI]:
    async with app_for(hook_settings) as app, delivering(hook_settings):
        yield app


@pytest.fixture
def hook_client(hook_app: FastAPI, hook_settings: Settings) -> Callable[..., httpx.AsyncClient]:
    def make() -> httpx.AsyncClient:
        return client_for(hook_app, token_for(hook_settings))

    return make


@pytest.fixture
async def quiet_app(hook_settings: Settings) -> AsyncIterator[FastAPI]:
    """The same app with no deliverer running: deliveries stay pending."""
    async with app_for(hook_settings) as app:
        yield app


@pytest.fixture
async def owner(quiet_app: FastAPI, hook_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(quiet_app, token_for(hook_settings)) as client:
        yield client


@pytest.fixture
async def stranger(quiet_app: FastAPI, hook_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(quiet_app, token_for(hook_settings)) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver
