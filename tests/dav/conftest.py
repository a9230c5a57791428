"""The CalDAV tests' users: Ada (with an email) and Ben, each with their /api and /dav
clients (tests.dav.helpers.dav_user)."""

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from tests.dav.helpers import DavUser, dav_user
from todo_api.config import Settings


@pytest.fixture
async def ada(app: FastAPI, settings: Settings) -> AsyncIterator[DavUser]:
    async with dav_user(app, settings, "ada@example.com") as user:
        yield user


@pytest.fixture
async def ben(app: FastAPI, settings: Settings) -> AsyncIterator[DavUser]:
    async with dav_user(app, settings) as user:
        yield user
