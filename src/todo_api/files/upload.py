"""An upload's body, streamed to a spool file: hashed (SHA-256), counted and stopped at the
limit as it arrives, its first bytes kept for sniffing its type. Memory stays flat whatever the
file's size: at most one write buffer (WRITE_BYTES) and the head are held.

Two forms of body: `multipart/form-data` with a `file` part (a browser's form, `curl -F`),
parsed as it streams by python-multipart's push parser (the one Starlette uses; Starlette's own
`request.form()` would keep the whole file before answering, and read past the limit); or the
raw bytes, their type in `Content-Type` and their name in `?name=`."""

import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import anyio
from python_multipart.multipart import MultipartParser, parse_options_header

from todo_api.files.errors import FileTooLarge
from todo_api.kit.errors import InvalidField, InvalidRequest

HEAD_BYTES = 8192
WRITE_BYTES = 256 * 1024
# What a multipart body may hold besides the file: its boundaries and part headers.
MULTIPART_SLACK = 64 * 1024
FILE_FIELD = "file"


@dataclass
class Received:
    spool: Path
    size: int
    sha256: str
    head: bytes
    name: str | None
    declared_type: str | None


class Spool:
    """A spool file being written: counted against `max_bytes`, hashed as it goes."""

    def __init__(self, spool_dir: Path, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        spool_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=spool_dir, prefix="upload-")
        self.path = Path(name)
        self._file: IO[bytes] = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self._buffer = bytearray()
        self.size = 0
        self.head = b""

    async def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise FileTooLarge(self.max_bytes)
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        self._buffer += data
        if len(self._buffer) >= WRITE_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        block, self._buffer = bytes(self._buffer), bytearray()
        self._hash.update(block)
        await anyio.to_thread.run_sync(self._file.write, block)

    async def finish(self) -> str:
        """Write what is left, to the disk; returns the SHA-256."""
        await self._flush()

        def sync() -> None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

        await anyio.to_thread.run_sync(sync)
        return self._hash.hexdigest()

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        self.path.unlink(missing_ok=True)


async def receive(
    chunks: AsyncIterator[bytes],
    *,
    content_type: str | None,
    name: str | None,
    spool_dir: Path,
    max_bytes: int,
) -> Received:
    """Stream the body into a spool file. Raises FileTooLarge past `max_bytes`, InvalidField
    naming `file` for a form without one, InvalidRequest for a form that does not parse; the
    spool file is removed whenever this raises (a client gone included)."""
    spool = Spool(spool_dir, max_bytes)
    try:
        media_type, params = parse_options_header(content_type or "")
        if media_type == b"multipart/form-data":
            boundary = params.get(b"boundary")
            if not boundary:
                raise InvalidRequest("A multipart body needs a boundary")
            name, declared = await _multipart(chunks, boundary, spool)
        else:
            declared = media_type.decode("latin-1") or None
            async for chunk in chunks:
                await spool.write(chunk)
        sha256 = await spool.finish()
    except BaseException:
        spool.discard()
        raise
    return Received(spool.path, spool.size, sha256, spool.head, name, declared)


async def _multipart(
    chunks: AsyncIterator[bytes], boundary: bytes, spool: Spool
) -> tuple[str | None, str | None]:
    """The first `file` part into the spool; returns its file name and type."""
    events: list[tuple[str, Any]] = []
    header: dict[str, bytearray] = {"field": bytearray(), "value": bytearray()}

    def on(kind: str) -> Callable[..., None]:
        def note(data: bytes | None = None, start: int = 0, end: int = 0) -> None:
            events.append((kind, None if data is None else data[start:end]))

        return note

    def on_field(data: bytes, start: int, end: int) -> None:
        header["field"] += data[start:end]

    def on_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        events.append(("header", (bytes(header["field"]), bytes(header["value"]))))
        header["field"], header["value"] = bytearray(), bytearray()

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on("begin"),
            "on_part_data": on("data"),
            "on_part_end": on("end"),
            "on_header_field": on_field,
            "on_header_value": on_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on("headers"),
        },
    )
    found = False  # the file's part was seen
    inside = False  # in the file's part now
    headers: dict[bytes, bytes] = {}
    name: str | None = None
    declared: str | None = None
    outside = 0  # bytes of other parts (bounded by the slack)
    async for chunk in chunks:
        try:
            parser.write(chunk)
        except Exception as exc:  # python-multipart's errors have no common base but this
            raise InvalidRequest("The multipart body does not parse") from exc
        for kind, data in events:
            if kind == "begin":
                headers = {}
            elif kind == "header":
                headers[data[0].lower()] = data[1]
            elif kind == "headers":
                _, options = parse_options_header(headers.get(b"content-disposition", b""))
                if not found and options.get(b"name") == FILE_FIELD.encode():
                    found = inside = True
                    name = _text(options.get(b"filename"))
                    declared = _text(headers.get(b"content-type"))
            elif kind == "data":
                if inside:
                    await spool.write(data)
                else:
                    outside += len(data)
                    if outside > MULTIPART_SLACK:
                        raise FileTooLarge(spool.max_bytes)
            elif kind == "end":
                inside = False
        events.clear()
    parser.finalize()
    if not found:
        raise InvalidField(FILE_FIELD, "A multipart upload needs a part named `file`")
    return name, declared


def _text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("latin-1")
