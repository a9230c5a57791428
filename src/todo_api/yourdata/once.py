"""What an import request asks, and the import written once per file.

`source=auto` finds the file's format from its content (sources.detect). A file of any source
imported again by the same person makes nothing the second time: without an `Idempotency-Key`
of the client's, the file's digest is the key (`import:<sha-256>`, kept `REPEAT_MEMORY`), and a
repeat answers that nothing was made, unless the request says `again=true`. The API and the web
app's import both go through `store_once`: the rule is here only.
"""

import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

from todo_api.db import Connection
from todo_api.kit.errors import InvalidField
from todo_api.kit.http import json_bytes
from todo_api.kit.idempotency import StoredResponse, request_fingerprint, respond_once
from todo_api.yourdata import importer
from todo_api.yourdata.archive import Incoming
from todo_api.yourdata.sources import AUTO, detect

REPEAT_MEMORY = timedelta(days=365)
TRELLO_MODES = ("sections", "lists")


def source_of(asked: str | None, body: bytes) -> str:
    """The source the request names, or for `auto` the one the content shows; 400 naming
    `source` otherwise."""
    names = [*importer.sources(), AUTO]
    if asked not in names:
        raise InvalidField("source", f"must be one of {', '.join(names)}")
    if asked != AUTO:
        return asked
    found = detect.source_of(body)
    if found is None:
        raise InvalidField(
            "source", "the file's format could not be told from its content: name it"
        )
    return found


def options_of(list_name: str | None, filename: str | None, trello: str | None) -> dict[str, str]:
    """The parsers' options: the list's name asked, the file's name, Trello's mode."""
    if trello is not None and trello not in TRELLO_MODES:
        raise InvalidField("trello", f"must be one of {', '.join(TRELLO_MODES)}")
    options = {"list": list_name, "filename": filename, "trello": trello}
    return {name: value for name, value in options.items() if value}


def implicit_key(source: str, options: dict[str, str], body: bytes) -> str:
    """The key that makes a second run of the same file, read the same way, make nothing."""
    # The same bytes under another file name are the same file.
    asked = sorted((name, value) for name, value in options.items() if name != "filename")
    digest = hashlib.sha256(repr((source, asked)).encode() + body)
    return f"import:{digest.hexdigest()}"


async def store(
    conn: Connection, user_id: uuid.UUID, upload: importer.Received, *, quota: int, again: bool
) -> dict[str, Any]:
    """The import of a request without a key of the client's written, and its answer: once
    per file (`store_once`), or anew when the request says `again`."""
    if again:
        made = await importer.store(conn, user_id, upload.prepared, upload.incoming, quota=quota)
        return {"source": upload.source, **made}
    key = implicit_key(upload.source, upload.options, upload.body)
    return await store_once(
        conn,
        user_id,
        key,
        upload.prepared,
        upload.incoming,
        quota=quota,
        answer={"source": upload.source},
    )


async def store_once(
    conn: Connection,
    user_id: uuid.UUID,
    key: str,
    prepared: importer.Prepared,
    incoming: list[Incoming],
    *,
    quota: int,
    answer: dict[str, Any],
) -> dict[str, Any]:
    """`importer.store` under the file's own key: the first run's answer, or on a repeat an
    answer of the same form that nothing was made."""

    async def produce() -> StoredResponse:
        result = await importer.store(conn, user_id, prepared, incoming, quota=quota)
        return StoredResponse(200, json_bytes({**answer, **result}).decode())

    stored = await respond_once(
        conn=conn,
        user_id=user_id,
        key=key,
        fingerprint=request_fingerprint("POST", "/api/import", key),
        ttl=REPEAT_MEMORY,
        produce=produce,
    )
    if not stored.replayed:
        first: dict[str, Any] = json.loads(stored.body)
        return first
    reason = "this file was imported already: nothing made again"
    return {**answer, **NOTHING, "skipped": [{"reason": reason}]}


NOTHING = {"lists": 0, "sections": 0, "tasks": 0, "comments": 0}
