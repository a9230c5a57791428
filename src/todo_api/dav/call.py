"""One CalDAV request (`Call`: who asks, its body, a connection for each step) and what
the methods' answers share: a collection's objects read a page at a time, a multistatus
streamed, a refusal of data a task cannot keep."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

from lxml import etree
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from todo_api.auth import Caller, Identity
from todo_api.dav import store
from todo_api.dav.errors import VALID_DATA, XML_TYPE, DavError, not_found
from todo_api.dav.store import Collection
from todo_api.dav.xml import CALDAV, Answer, Name, multistatus, parse
from todo_api.db import Connection, Row
from todo_api.kit.deps import held
from todo_api.tasks.listing import CursorCodec


class Call:
    """One request: who asks, and a connection for each step."""

    def __init__(self, request: Request, identity: Identity) -> None:
        self.request = request
        self.identity = identity
        self.caller = Caller(request, identity)
        self._collections: list[Collection] | None = None

    @property
    def user_id(self) -> uuid.UUID:
        return self.identity.user_id

    def connection(self) -> Any:
        return self.caller.connection()

    async def body(self, limit: int | None = None) -> bytes:
        data = bytearray()
        async for chunk in self.request.stream():
            data += chunk
            if limit is not None and len(data) > limit:
                raise DavError(
                    403,
                    f"A calendar object is at most {limit} bytes",
                    Name(CALDAV, "max-resource-size"),
                )
        return bytes(data)

    async def xml(self) -> etree._Element | None:
        return parse(await self.body())

    async def collections(self, conn: Connection) -> list[Collection]:
        """The caller's collections, read once per request (each method needs them whole)."""
        if self._collections is None:
            self._collections = await store.collections(conn, self.user_id)
        return self._collections

    async def collection(self, conn: Connection, segment: str | None) -> Collection:
        if segment == store.INBOX:
            return store.inbox(self.user_id)
        coll = store.collection_at(await self.collections(conn), segment or "")
        if coll is None:
            raise not_found()
        return coll


async def objects(caller: Caller, coll: Collection, *, whole: bool = True) -> AsyncIterator[Row]:
    """The collection's objects (`whole`, or what ETags and names need), a page (one
    statement) at a time, each let go before the next is read."""
    after = store.FIRST_PAGE
    while True:
        page = await caller.streamed(store.objects_page, coll, after, whole=whole)
        for row in page:
            yield row
        if len(page) < store.PAGE:
            return
        after = store.page_end(page)
        del page


def cursors(call: Call) -> CursorCodec:
    return held(call.request.app, CursorCodec)


async def one_answer(node: etree._Element) -> AsyncIterator[etree._Element]:
    yield node


def multistatus_response(
    nodes: AsyncIterator[Answer], tail: list[etree._Element] | None = None
) -> Response:
    tail = tail if tail is not None else []
    return StreamingResponse(multistatus(nodes, tail), status_code=207, media_type=XML_TYPE)


def invalid(exc: ValidationError) -> DavError:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or 'object'}: {error['msg']}"
        for error in exc.errors()[:5]
    )
    return DavError(403, f"The task cannot be kept: {problems}", VALID_DATA)
