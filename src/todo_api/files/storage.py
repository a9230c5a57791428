"""Where attachments' bytes live: a folder (`file:///path`) or an S3-compatible bucket
(`s3://bucket/prefix`, through aiobotocore: the asynchronous form of AWS's own client, which
every S3-compatible store is tested against; no thread per request).

An upload is first written to a spool file (todo_api.files.upload: hashed and counted as it
streams, so memory stays flat), then handed over whole: a folder renames it into place (same
file system: no copy), S3 sends it from the disk in one request. Either way the bytes are in
place before the row that names them is written, and removed only after that row is gone; what
a crash leaves between the two is removed by the sweep (todo_api.files.scheduled), which reads
the keys and their ages from here."""

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import anyio

from todo_api.config import Settings
from todo_api.config.attachments import FILE_SCHEME, S3_SCHEME
from todo_api.files.errors import AttachmentNotFound, StorageUnavailable

log = logging.getLogger("todo_api")

CHUNK_BYTES = 64 * 1024
PRESIGNED_SECONDS = 300
# Spool files (uploads under way, or left by a crash) are in a folder of their own.
SPOOL_FOLDER = ".incoming"


class Storage(Protocol):
    # Where uploads are written before they are handed over (`put`).
    spool_dir: Path

    async def put(self, key: str, spool: Path, size: int) -> None:
        """Make the spool file's bytes the key's (the spool file is gone afterwards)."""

    def read(self, key: str, start: int, end: int) -> AsyncGenerator[bytes]:
        """The bytes from `start` to `end` (inclusive), in chunks."""

    async def delete(self, key: str) -> None:
        """Remove the key's bytes (nothing when there are none)."""

    async def exists(self, key: str) -> bool:
        """Whether the key's bytes are there."""

    def listing(self) -> AsyncIterator[tuple[str, datetime]]:
        """Every key stored, with when it was written."""

    async def presigned_url(self, key: str, *, content_type: str, disposition: str) -> str | None:
        """A URL that serves the key's bytes for PRESIGNED_SECONDS without credentials, or
        None when this storage serves them itself."""

    async def close(self) -> None: ...


def key_for(attachment_id: str) -> str:
    """Where an attachment's bytes go: fanned out by the id's first two characters, so that
    no folder holds them all."""
    return f"{attachment_id[:2]}/{attachment_id}"


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


class FolderStorage:
    """A folder of the local file system (or a mounted volume shared by every instance)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.spool_dir = root / SPOOL_FOLDER

    def _path(self, key: str) -> Path:
        return self.root / key

    async def put(self, key: str, spool: Path, size: int) -> None:
        def move() -> None:
            target = self._path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(spool, target)

        await anyio.to_thread.run_sync(move)

    async def read(self, key: str, start: int, end: int) -> AsyncGenerator[bytes]:
        async with await anyio.open_file(self._path(key), "rb") as file:
            await file.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = await file.read(min(CHUNK_BYTES, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(lambda: self._path(key).unlink(missing_ok=True))

    async def exists(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(self._path(key).is_file)

    async def listing(self) -> AsyncIterator[tuple[str, datetime]]:
        def walk() -> list[tuple[str, datetime]]:
            found: list[tuple[str, datetime]] = []
            if not self.root.is_dir():
                return found
            for folder in self.root.iterdir():
                if not folder.is_dir() or folder.name == SPOOL_FOLDER:
                    continue
                for path in folder.iterdir():
                    with contextlib.suppress(FileNotFoundError):
                        found.append((f"{folder.name}/{path.name}", _mtime(path)))
            return found

        for item in await anyio.to_thread.run_sync(walk):
            yield item

    async def presigned_url(self, key: str, *, content_type: str, disposition: str) -> str | None:
        return None

    async def close(self) -> None:
        return None


class StoreFailed(OSError):
    """The S3 store refused or did not answer (its client's errors, as an OSError)."""


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """The S3 client's errors as OSErrors: a missing key is FileNotFoundError."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
            raise FileNotFoundError(str(exc)) from exc
        raise StoreFailed(str(exc)) from exc
    except BotoCoreError as exc:
        raise StoreFailed(str(exc)) from exc


class S3Storage:
    """A bucket of any S3-compatible store (AWS, Cloudflare R2, MinIO, Garage, SeaweedFS): the
    keys under `prefix`. One client per process, made on first use."""

    def __init__(self, settings: Settings, bucket: str, prefix: str) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.presign = settings.attachment_presign
        self.spool_dir = Path(tempfile.gettempdir()) / "todo-api-attachments"
        # aiobotocore (with aiohttp and botocore) is imported only where S3 is used: a second
        # or more of every process's start otherwise.
        from aiobotocore.config import AioConfig

        secret = settings.s3_secret_access_key
        self._options: dict[str, Any] = {
            "region_name": settings.s3_region or "us-east-1",
            "endpoint_url": settings.s3_endpoint_url,
            "aws_access_key_id": settings.s3_access_key_id,
            "aws_secret_access_key": secret.get_secret_value() if secret else None,
            "config": AioConfig(
                signature_version="s3v4",  # (presigned URLs too: every store takes version 4)
                # Most stores other than AWS's own are addressed by path (a bucket name need
                # not be a host name there).
                s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
                # The checksums AWS added in 2025 are not known to every S3-compatible store.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                connect_timeout=10,
                read_timeout=60,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        }
        self._stack = contextlib.AsyncExitStack()
        self._client: Any = None

    async def _s3(self) -> Any:
        if self._client is None:
            from aiobotocore.session import get_session

            made = get_session().create_client("s3", **self._options)
            self._client = await self._stack.enter_async_context(made)
        return self._client

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    async def put(self, key: str, spool: Path, size: int) -> None:
        s3 = await self._s3()
        try:
            with _translated(), spool.open("rb") as body:
                await s3.put_object(
                    Bucket=self.bucket, Key=self._key(key), Body=body, ContentLength=size
                )
        finally:
            await anyio.to_thread.run_sync(lambda: spool.unlink(missing_ok=True))

    async def read(self, key: str, start: int, end: int) -> AsyncGenerator[bytes]:
        s3 = await self._s3()
        with _translated():
            answer = await s3.get_object(
                Bucket=self.bucket, Key=self._key(key), Range=f"bytes={start}-{end}"
            )
        async with answer["Body"] as body:
            async for chunk in body.iter_chunks(CHUNK_BYTES):
                yield chunk

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        with _translated():
            await s3.delete_object(Bucket=self.bucket, Key=self._key(key))

    async def exists(self, key: str) -> bool:
        s3 = await self._s3()
        try:
            with _translated():
                await s3.head_object(Bucket=self.bucket, Key=self._key(key))
        except FileNotFoundError:
            return False
        return True

    async def listing(self) -> AsyncIterator[tuple[str, datetime]]:
        s3 = await self._s3()
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        with _translated():
            async for page in pages:
                for item in page.get("Contents", ()):
                    yield item["Key"].removeprefix(self.prefix), item["LastModified"]

    async def presigned_url(self, key: str, *, content_type: str, disposition: str) -> str | None:
        if not self.presign:
            return None
        s3 = await self._s3()
        params = {
            "Bucket": self.bucket,
            "Key": self._key(key),
            "ResponseContentType": content_type,
            "ResponseContentDisposition": disposition,
        }
        with _translated():
            url: str = await s3.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=PRESIGNED_SECONDS
            )
        return url

    async def close(self) -> None:
        await self._stack.aclose()
        self._client = None


def default_folder(settings: Settings) -> Path:
    """`attachments/` beside the SQLite file; under DATA_DIR for PostgreSQL."""
    if settings.is_sqlite:
        database = settings.sqlalchemy_url.database
        if database and database != ":memory:":
            return Path(database).absolute().parent / "attachments"
    return settings.data_dir.absolute() / "attachments"


def storage_for(settings: Settings) -> Storage:
    """The storage ATTACHMENT_STORAGE names."""
    location = settings.attachment_storage
    if location is None:
        return FolderStorage(default_folder(settings))
    if location.startswith(FILE_SCHEME):
        return FolderStorage(Path(location.removeprefix(FILE_SCHEME)))
    bucket, _, prefix = location.removeprefix(S3_SCHEME).partition("/")
    prefix = prefix.strip("/")
    return S3Storage(settings, bucket, f"{prefix}/" if prefix else "")


def remove_stale_spools(spool_dir: Path, older_than: float) -> int:
    """Remove the spool files last written before `older_than` (a time.time()): uploads a
    crash cut short. Returns how many."""
    removed = 0
    if not spool_dir.is_dir():
        return 0
    for path in spool_dir.iterdir():
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < older_than:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink()
                removed += 1
    return removed


_FAILURES = (OSError,)  # a folder's, and S3's as StoreFailed


def _missing(exc: BaseException) -> bool:
    return isinstance(exc, FileNotFoundError)


class Files:
    """What the attachment routes hold for every request: the storage and the limits. A
    storage that fails is StorageUnavailable (503), never an unexplained 500."""

    def __init__(self, settings: Settings) -> None:
        self.storage = storage_for(settings)
        self.max_bytes = settings.attachment_max_bytes
        self.quota_bytes = settings.attachment_quota_bytes

    async def put(self, key: str, spool: Path, size: int) -> None:
        try:
            await self.storage.put(key, spool, size)
        except _FAILURES as exc:
            await anyio.to_thread.run_sync(lambda: spool.unlink(missing_ok=True))
            log.warning("attachments: storing %s failed: %s", key, exc)
            raise StorageUnavailable from exc

    async def remove(self, key: str) -> None:
        """Remove the bytes, or leave them to the sweep if the storage fails now."""
        try:
            await self.storage.delete(key)
        except _FAILURES as exc:
            log.warning("attachments: removing %s failed (the sweep will): %s", key, exc)

    async def presigned_url(self, key: str, content_type: str, disposition: str) -> str | None:
        try:
            return await self.storage.presigned_url(
                key, content_type=content_type, disposition=disposition
            )
        except _FAILURES as exc:
            raise StorageUnavailable from exc

    async def opened(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """The bytes from `start` to `end`, their first chunk already read: a missing file is
        AttachmentNotFound, a failing storage StorageUnavailable, before any answer starts."""
        chunks = self.storage.read(key, start, end)
        try:
            first = await anext(chunks, b"")
        except _FAILURES as exc:
            await chunks.aclose()
            if _missing(exc):
                log.warning("attachments: the bytes of %s are missing", key)
                raise AttachmentNotFound from exc
            raise StorageUnavailable from exc

        async def rest() -> AsyncIterator[bytes]:
            try:
                yield first
                async for chunk in chunks:
                    yield chunk
            finally:
                await chunks.aclose()

        return rest()

    async def close(self) -> None:
        await self.storage.close()
