"""The zip of `GET /api/export?with_files=true` read back by the `todo-api` import: its JSON
document (`todo-api-export.json`), and the bytes of each file the document's `attachments`
lists, read by the name the export gave it (`files/<id>/<name>`, made from the document's own
`id` and `name`), never by the names the zip holds, each at most once. Nothing is unpacked to a
path of the zip's choosing.

Before anything is read, the zip's directory is checked: a zip whose members would unpack to
more than IMPORT_UNPACKED_MAX_BYTES together, that holds a name twice, or a member that would
expand more than MAX_RATIO times (a zip bomb) is 413 PAYLOAD_TOO_LARGE, nothing written. Then
each member is inflated a chunk at a time into an upload's spool file, counted as it comes
and stopped past the size the directory gives it (a zip that lies about it is damaged: left
out; zipfile itself reads no further, and a member longer than that fails its CRC), at
ATTACHMENT_MAX_BYTES or at what is left of the importer's quota, then put in the storage as
an upload is (todo_api.files.router.put_received). The rows are written by the import's
transaction (`importer.store`), through the files' service, limits checked again there."""

import io
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

import anyio

from todo_api.files.errors import FileTooLarge
from todo_api.files.router import put_received
from todo_api.files.storage import Files
from todo_api.files.upload import Received, Spool
from todo_api.kit.errors import ApiError, ErrorCode, InvalidRequest
from todo_api.tables.attachments import ATTACHMENTS_MAX_COUNT
from todo_api.yourdata.export import ZIP_DOCUMENT
from todo_api.yourdata.records import Skipped, Where

# A zip's first bytes: a member's local header, or (an empty zip) the directory's end.
_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_CHUNK = 256 * 1024
# A member that would unpack to more than this many times its compressed size is a bomb (deflate
# reaches about a thousand on zeros; an export's document, a few dozen; its files, about one).
MAX_RATIO = 200
# What a damaged or unreadable member raises while it is inflated (a wrong CRC, a deflate
# stream that breaks off, a method zipfile does not know, an encrypted member).
_DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
)


class ArchiveTooLarge(ApiError):
    """An import's zip that would unpack too far (its directory says so): refused whole."""

    status, code = 413, ErrorCode.PAYLOAD_TOO_LARGE


def is_zip(body: bytes) -> bool:
    return body[:4] in _MAGIC


def check_members(archive: zipfile.ZipFile, max_unpacked: int) -> None:
    """ArchiveTooLarge for a zip whose members would unpack to more than `max_unpacked` bytes
    together, that holds a name twice, or a member that would expand more than MAX_RATIO
    times, from its directory alone (nothing is inflated)."""
    names: set[str] = set()
    total = 0
    for info in archive.infolist():
        if info.filename in names:
            raise ArchiveTooLarge(f"The zip holds {info.filename} more than once")
        names.add(info.filename)
        if info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ArchiveTooLarge(
                f"The zip's {info.filename} would expand more than {MAX_RATIO} times"
            )
        total += info.file_size
    if total > max_unpacked:
        raise ArchiveTooLarge(
            f"The zip's files would unpack to {total} bytes, more than the limit of "
            f"{max_unpacked} bytes"
        )


def open_archive(
    body: bytes, max_document: int, max_unpacked: int
) -> tuple[zipfile.ZipFile, bytes]:
    """The zip and its JSON document (at most `max_document` bytes once inflated, as the
    import takes a document sent alone); 400 INVALID_REQUEST for a zip that does not read, or
    holds no document; 413 PAYLOAD_TOO_LARGE for one that would unpack too far
    (`check_members`)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
    except (*_DAMAGED, OSError) as exc:
        raise InvalidRequest(f"The file is not a zip that can be read: {exc}") from None
    check_members(archive, max_unpacked)
    try:
        info = archive.getinfo(ZIP_DOCUMENT)
    except KeyError:
        raise InvalidRequest(f"The zip holds no {ZIP_DOCUMENT} (this service's export)") from None
    except (*_DAMAGED, OSError) as exc:
        raise InvalidRequest(f"The file is not a zip that can be read: {exc}") from None
    try:
        with archive.open(info) as member:
            document = member.read(max_document + 1)
    except (*_DAMAGED, OSError) as exc:
        raise InvalidRequest(f"The zip's {ZIP_DOCUMENT} cannot be read: {exc}") from None
    if len(document) > max_document:
        raise InvalidRequest(f"The zip's {ZIP_DOCUMENT} is larger than {max_document} bytes")
    return archive, document


@dataclass
class Incoming:
    """A file of the zip, in the storage: the task it goes to (the document's id of it), its
    row (every column but the task's, the comment's, the uploader's and the time) and the
    comment it was on."""

    where: Where
    task_key: str
    row: dict[str, Any]
    comment_key: str | None = None  # the document's id of the comment it was on
    written: bool = False  # its row was written (else its bytes are removed: `drop`)


def _left_out(where: Where, name: object, reason: str) -> Skipped:
    return Skipped(where, f"file {name} left out: {reason}")


async def receive(
    archive: zipfile.ZipFile,
    listed: list[tuple[Where, Any]],
    task_keys: set[str],
    files: Files,
    *,
    room: int,
) -> tuple[list[Incoming], list[Skipped]]:
    """The files the document lists (`listed`) for its tasks (`task_keys`), put in the
    storage, in the document's order, each that fits: within ATTACHMENT_MAX_BYTES, 100 a task
    and `room` (what is left of the importer's quota) all together; the others left out and
    listed. On any failure the bytes put so far are removed again."""
    incoming: list[Incoming] = []
    skipped: list[Skipped] = []
    per_task: dict[str, int] = {}
    members: set[str] = set()  # read already: each at most once
    try:
        for where, item in listed:
            if not isinstance(item, dict) or not all(
                isinstance(item.get(key), str) for key in ("id", "task_id", "name")
            ):
                skipped.append(Skipped(where, "a file needs its id, task_id and name: left out"))
                continue
            name, task_key = item["name"], item["task_id"]
            if task_key not in task_keys:
                skipped.append(_left_out(where, name, "its task is not imported"))
                continue
            if per_task.get(task_key, 0) >= ATTACHMENTS_MAX_COUNT:
                skipped.append(
                    _left_out(where, name, f"a task has at most {ATTACHMENTS_MAX_COUNT}")
                )
                continue
            member = _member(item)
            if member in members:
                skipped.append(_left_out(where, name, "the document names it twice"))
                continue
            members.add(member)
            found = await _received(archive, where, item, files, room)
            if isinstance(found, Skipped):
                skipped.append(found)
                continue
            row = await put_received(files, found, name)
            comment = item.get("comment_id")
            on = comment if isinstance(comment, str) else None
            incoming.append(Incoming(where, task_key, row, comment_key=on))
            per_task[task_key] = per_task.get(task_key, 0) + 1
            room -= found.size
    except BaseException:
        with anyio.CancelScope(shield=True):
            await drop(files, incoming)
        raise
    return incoming, skipped


async def _received(
    archive: zipfile.ZipFile, where: Where, item: dict[str, Any], files: Files, room: int
) -> Received | Skipped:
    """The member `files/<id>/<name>` in a spool file, or why it is left out."""
    name = item["name"]
    try:
        info = archive.getinfo(_member(item))
    except KeyError:
        return _left_out(where, name, "not in the zip")
    too_large = _left_out(where, name, f"larger than the limit of {files.max_bytes} bytes")
    no_room = _left_out(where, name, "past your storage quota")
    if info.file_size > files.max_bytes:
        return too_large
    if info.file_size > room:
        return no_room
    spool = Spool(files.storage.spool_dir, min(files.max_bytes, room))
    try:
        with archive.open(info) as member:
            while chunk := await anyio.to_thread.run_sync(member.read, _CHUNK):
                if spool.size + len(chunk) > info.file_size:  # past what the directory said
                    raise zipfile.BadZipFile(f"{info.filename} is longer than its directory says")
                await spool.write(chunk)
        sha256 = await spool.finish()
    except FileTooLarge:  # the zip's directory understated it
        spool.discard()
        return too_large if spool.size > files.max_bytes else no_room
    except _DAMAGED:
        spool.discard()
        return _left_out(where, name, "damaged in the zip")
    except BaseException:
        spool.discard()
        raise
    if isinstance(item.get("sha256"), str) and item["sha256"] != sha256:
        await anyio.to_thread.run_sync(spool.path.unlink)
        return _left_out(where, name, "its bytes are not those the export's sha256 names")
    declared = item.get("content_type")
    declared = declared if isinstance(declared, str) else None
    return Received(spool.path, spool.size, sha256, spool.head, name, declared)


def _member(item: dict[str, Any]) -> str:
    """The member of the zip that holds the bytes of the document's file `item`."""
    return f"files/{item['id']}/{item['name']}"


async def drop(files: Files, incoming: list[Incoming]) -> None:
    """Remove the bytes of the files whose rows were not written."""
    for item in incoming:
        if not item.written:
            await files.remove(item.row["storage_key"])
