"""/api/connections: the apps a person allowed to use their tasks (MCP authorization), and
ending one's access. Nothing of the MCP SDK: the list is served whether or not this service is
the authorization server (an app connected before it stopped being one still shows)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel

from todo_api.auth import app_tokens
from todo_api.auth.dependencies import caller
from todo_api.auth.errors import ConnectionNotFound
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.kit.deps import held
from todo_api.kit.errors import error_responses
from todo_api.kit.http import NO_CONTENT, json_response, no_content
from todo_api.oauth import store

connections_router = APIRouter(
    prefix="/api/connections", tags=["connections"], responses=error_responses(401, 403, 500, 503)
)


class ConnectionRead(BaseModel):
    client_id: str
    client_name: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None


@connections_router.get(
    "",
    response_model=list[ConnectionRead],
    summary="The apps you allowed to use your tasks (MCP authorization), newest first",
)
async def list_connections(request: Request) -> Response:
    call = await caller(request)
    rows = await call.run(store.list_connections)
    fields = ConnectionRead.model_fields
    return json_response([{name: row[name] for name in fields} for row in rows])


@connections_router.delete(
    "/{client_id:path}",
    **NO_CONTENT,
    responses=error_responses(404),
    summary="End an app's access: every token it holds for you is refused from the next request",
)
async def end_connection(
    client_id: Annotated[str, Path(description="The app's client_id")], request: Request
) -> Response:
    call = await caller(request)
    known = held(request.app, KnownTokens)
    async with call.connection() as conn:
        ended, ids = await app_tokens.revoke_grants(
            conn, store.connection_of(call.user_id, client_id)
        )
    await known.revoked(*ids)
    if not ended:
        raise ConnectionNotFound
    return no_content()
