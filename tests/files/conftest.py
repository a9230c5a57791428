"""Attachments on both databases and both storages: a folder, and S3 served by moto's server
mode in its own process on 127.0.0.1 (over HTTP, as any S3-compatible store; no client is
mocked)."""

import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from fastapi import FastAPI

from tests.helpers_server import free_port
from tests.support import app_for, client_for, make_settings, token_for
from todo_api.config import Settings

MOTO_KEY = "test"
STORAGES = ["folder", "s3"]


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server, started for the session on a free port."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    moto = Path(sys.executable).parent / "moto_server"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "/moto-api/", timeout=1)
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"moto_server did not start: {log.read_text(errors='replace')}")
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


def new_bucket(endpoint: str) -> str:
    name = f"files-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=MOTO_KEY,
        aws_secret_access_key=MOTO_KEY,
    )
    s3.create_bucket(Bucket=name)
    return name


def storage_settings(kind: str, request: pytest.FixtureRequest, folder: Path) -> dict[str, Any]:
    if kind == "folder":
        return {"attachment_storage": f"file://{folder}"}
    endpoint: str = request.getfixturevalue("s3_endpoint")
    return {
        "attachment_storage": f"s3://{new_bucket(endpoint)}/files",
        "s3_endpoint_url": endpoint,
        "s3_region": "us-east-1",
        "s3_access_key_id": MOTO_KEY,
        "s3_secret_access_key": MOTO_KEY,
    }


@pytest.fixture(scope="module", params=STORAGES)
def storage_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture(scope="module")
def files_settings(
    settings: Settings,
    storage_kind: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    """The session's migrated database, with a storage of this module's kind and small limits
    (so that each can be passed with small files)."""
    folder = tmp_path_factory.mktemp("attachments")
    return make_settings(
        settings.database_url or "",
        settings.data_dir,
        attachment_max_bytes=300_000,
        **storage_settings(storage_kind, request, folder),
    )


@pytest.fixture(scope="module")
async def files_app(files_settings: Settings) -> AsyncIterator[FastAPI]:
    async with app_for(files_settings) as app:
        yield app


@pytest.fixture
def person(files_app: FastAPI, files_settings: Settings) -> Callable[[], httpx.AsyncClient]:
    """Makes clients, each a new user of the attachments' app."""

    def make() -> httpx.AsyncClient:
        return client_for(files_app, token_for(files_settings))

    return make
