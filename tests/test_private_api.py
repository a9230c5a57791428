"""The private API of our dependencies that the service relies on is still there.

Each name, attribute and signature below is used by a file of ours although its library does
not promise to keep it; pyproject.toml pins each such library to the range tested. When a
release drops or changes one, its check fails with the private API and the file that uses it,
before a user's install does.
"""

import asyncio
import inspect
import logging
import re
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from packaging.requirements import Requirement
from sqlalchemy import select
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import Dialect

from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.tables.tasks import tasks


@dataclass(frozen=True)
class PrivateUse:
    distribution: str  # as pip names it
    what: str
    used_in: str
    check: Callable[[], None]  # raises (AssertionError or any other) when it is gone


# --- SQLAlchemy: compiling statements (db/statements.py) -----------------------------------------


def _dialects() -> list[Dialect]:
    return [SQLiteDialect_aiosqlite(), PGDialect_asyncpg()]  # type: ignore[no-untyped-call]


def _result_columns() -> None:
    """Each entry is (keyname, name, objects, type), for the columns of a SELECT and of a
    RETURNING alike."""
    for dialect in _dialects():
        statement = select(tasks.c.id, tasks.c.title.label("heading"))
        compiled: Any = statement.compile(dialect=dialect)
        entries = compiled._result_columns
        assert type(entries[0])._fields[:4] == ("keyname", "name", "objects", "type")
        assert [(e[0], type(e[3])) for e in entries] == [
            ("id", type(tasks.c.id.type)),
            ("heading", type(tasks.c.title.type)),
        ]


# --- uvicorn: the httptools protocol (edge/protocol.py), its signals (process/shutdown.py) -----


def _httptools_module() -> Any:
    from uvicorn.protocols.http import httptools_impl

    return httptools_impl


def _httptools_protocol_signature() -> None:
    protocol = _httptools_module().HttpToolsProtocol
    parameters = list(inspect.signature(protocol.__init__).parameters)
    assert parameters[:5] == ["self", "config", "server_state", "app_state", "_loop"]


def _httptools_protocol_hooks() -> None:
    protocol = _httptools_module().HttpToolsProtocol
    for name in (
        "connection_made",
        "connection_lost",
        "data_received",
        "on_message_begin",
        "on_headers_complete",
        "on_message_complete",
    ):
        assert callable(getattr(protocol, name)), name
    assert list(inspect.signature(protocol.send_400_response).parameters) == ["self", "msg"]


def _assigned(function: Callable[..., Any], *attributes: str) -> None:
    """The method sets these attributes of its instance (with or without an annotation)."""
    source = inspect.getsource(function)
    for attribute in attributes:
        assignment = rf"self\.{attribute}\s*(:[^=\n]*)?="
        assert re.search(assignment, source), f"{function.__qualname__} sets no {attribute}"


def _httptools_protocol_state() -> None:
    protocol = _httptools_module().HttpToolsProtocol
    _assigned(protocol.__init__, "loop", "server_state", "cycle")
    _assigned(protocol.connection_made, "transport")


def _request_cycle_state() -> None:
    _assigned(
        _httptools_module().RequestResponseCycle.__init__,
        "response_started",
        "response_complete",
        "keep_alive",
        "disconnected",
        "message_event",
    )


def _status_line() -> None:
    assert _httptools_module().STATUS_LINE[431] == (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    )


def _server_state_default_headers() -> None:
    from uvicorn.server import ServerState

    assert ServerState().default_headers == []


def _signals_raised_again_after_shutdown() -> None:
    """process/shutdown.py: uvicorn installs its exit handlers with signal.signal (so the app
    can put itself in front of them) and raises the signal again once it has shut down."""
    from uvicorn.server import Server

    source = inspect.getsource(Server.capture_signals)
    assert "signal.signal(" in source
    assert "signal.raise_signal(" in source


# --- FastAPI and Starlette: direct routes, the 405's Allow, the request context (edge/) -------


def _route(endpoint: Callable[..., Any], path: str = "/items/{item_id}") -> Any:
    router = APIRouter()
    router.add_api_route(path, endpoint)
    return router.routes[0]


async def _direct_endpoint(item_id: str, request: Request) -> Response:
    return Response()


async def _endpoint_with_query(request: Request, q: Annotated[str, Query()]) -> Response:
    return Response()


def _dependant_fields() -> None:
    from fastapi.dependencies.models import Dependant

    names = {f.name for f in fields(Dependant)}
    needed = {
        "request_param_name",
        "dependencies",
        "query_params",
        "header_params",
        "cookie_params",
        "body_params",
        "response_param_name",
        "background_tasks_param_name",
        "path_params",
        # A dependency called with its defaults (direct_with_dependencies)
        "name",
        "call",
        "websocket_param_name",
        "http_connection_param_name",
        "security_scopes_param_name",
    }
    assert needed <= names, f"missing: {sorted(needed - names)}"


async def _query_dependency(q: Annotated[str | None, Query()] = None) -> str | None:
    return q


async def _endpoint_with_dependency(
    request: Request, found: Annotated[str | None, Depends(_query_dependency)]
) -> Response:
    return Response()


def _query_read_as_fastapi_reads_it() -> None:
    from fastapi.dependencies.utils import request_params_to_args
    from starlette.datastructures import QueryParams

    (dependency,) = _route(_endpoint_with_dependency, "/items").dependant.dependencies
    assert request_params_to_args(dependency.query_params, QueryParams("q=x")) == ({"q": "x"}, [])


def _dependant_of_a_route() -> None:
    dependant = _route(_direct_endpoint).dependant
    assert dependant.request_param_name == "request"
    assert [p.field_info.annotation for p in dependant.path_params] == [str]
    assert _route(_endpoint_with_query, "/items").dependant.query_params
    # A dependency's own dependant: its parameter's name, what to call, its query parameters
    (dependency,) = _route(_endpoint_with_dependency, "/items").dependant.dependencies
    assert dependency.name == "found"
    assert dependency.call is _query_dependency
    assert [p.field_info.is_required() for p in dependency.query_params] == [False]


def _param_convertors() -> None:
    from starlette.convertors import StringConvertor

    convertors = _route(_direct_endpoint).param_convertors
    assert isinstance(convertors["item_id"], StringConvertor)


def _route_in_child_scope() -> None:
    """routing.py hands the child scope on; middleware.py and handlers.py read its "route",
    slashes.py its "endpoint" (whether a route matched)."""
    route = _route(_direct_endpoint)
    scope = {"type": "http", "method": "GET", "path": "/items/1", "root_path": ""}
    _, child_scope = route.matches(scope)
    assert child_scope["route"] is route
    assert child_scope["endpoint"] is _direct_endpoint
    assert child_scope["path_params"] == {"item_id": "1"}


def _request_state_in_scope() -> None:
    """middleware.py writes the request id into scope["state"]; the routes read request.state."""
    request = Request({"type": "http", "state": {"request_id": "abc"}})
    assert request.state.request_id == "abc"


def _request_body_attributes() -> None:
    """kit/http.py reads a body itself, then leaves `_body` and `_stream_consumed` as
    `Request.body()` does (and `_is_disconnected` on a disconnect), so that a later `body()`
    gives the same bytes without reading again."""
    messages = [
        {"type": "http.request", "body": b"{}", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": False},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    assert request._stream_consumed is False
    assert not hasattr(request, "_body")
    assert asyncio.run(request.body()) == b"{}"
    assert request._body == b"{}"
    assert request._stream_consumed is True

    kept = Request({"type": "http", "method": "POST", "headers": []}, receive)
    kept._body, kept._stream_consumed = b"[]", True
    assert asyncio.run(kept.body()) == b"[]"  # messages is empty: nothing more was read
    assert kept._is_disconnected is False


def _cors_preflight_response() -> None:
    """edge/middleware.py overrides preflight_response and reads the refusal from its body."""
    from starlette.datastructures import Headers
    from starlette.middleware.cors import CORSMiddleware

    cors = CORSMiddleware(app=Response(), allow_origins=["http://a.test"], allow_methods=["GET"])
    assert list(inspect.signature(cors.preflight_response).parameters) == ["request_headers"]
    refused = cors.preflight_response(
        Headers({"origin": "http://b.test", "access-control-request-method": "GET"})
    )
    assert refused.status_code == 400
    assert bytes(refused.body) == b"Disallowed CORS origin"


def _iter_route_contexts() -> None:
    from fastapi.routing import iter_route_contexts

    app = FastAPI()
    router = APIRouter()
    router.add_api_route("/items/{item_id}", _direct_endpoint, methods=["GET", "PUT"])
    app.include_router(router)
    scope = {"type": "http", "method": "POST", "path": "/items/1", "root_path": ""}
    methods = set()
    for context in iter_route_contexts(app.routes):
        match, _ = context.matches(scope)
        if match.name != "NONE" and context.methods:
            methods |= context.methods
            assert context.path == "/items/{item_id}"
    assert methods == {"GET", "PUT"}


def _streaming_listens_below_asgi_2_4() -> None:
    """edge/head.py: a StreamingResponse under an ASGI spec_version below 2.4 ends when
    `receive` says the client left (from 2.4 on, only when a send fails)."""
    from starlette.responses import StreamingResponse

    source = inspect.getsource(StreamingResponse.__call__)
    assert "spec_version" in source
    assert "(2, 4)" in source
    assert "listen_for_disconnect" in source


# --- fastapi-offline: its assets (edge/docs.py) ------------------------------------------------


def _offline_assets() -> None:
    static = files("fastapi_offline") / "static"
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"):
        assert (static / name).is_file(), name


# --- the standard library (process/logs.py) ----------------------------------------------------


def _logging_srcfile() -> None:
    """The logging HOWTO's way to skip looking up the caller of every record."""
    assert hasattr(logging, "_srcfile")
    assert "_srcfile" in inspect.getsource(logging.Logger._log)


def _httpx_transport_pool() -> None:
    import httpcore

    transport = httpx.AsyncHTTPTransport(trust_env=False)
    assert isinstance(transport._pool, httpcore.AsyncConnectionPool)
    assert "self._pool.handle_async_request" in inspect.getsource(
        httpx.AsyncHTTPTransport.handle_async_request
    )


# --- FastAPI: a field's pydantic adapter (tests/shared_adapters.py) ------------------------------


def _model_field_adapter() -> None:
    """`ModelField.__post_init__` builds `_type_adapter` from `asdict(field_info)` (annotation,
    metadata, attributes) and `config`, and sets nothing else."""
    from dataclasses import fields as dataclass_fields

    from fastapi._compat import v2
    from fastapi.utils import create_model_field
    from pydantic import Field

    built = getattr(v2.ModelField.__post_init__, "__wrapped__", v2.ModelField.__post_init__)
    field = create_model_field("limit", Annotated[int, Field(ge=1)])  # the adapter kept aside
    del field._type_adapter
    before = set(vars(field))
    built(field)
    assert set(vars(field)) - before == {"_type_adapter"}
    assert field._type_adapter.validate_python(3) == 3
    assert {"annotation", "metadata", "attributes"} <= set(v2.asdict(field.field_info))
    assert {f.name for f in dataclass_fields(v2.ModelField)} >= {"field_info", "config"}


# --- the MCP SDK: its token handler's answers (oauth/router.py) ---------------------------


def _token_handler_redirect_mismatch() -> None:
    """TokenHandler.handle answers through self.response(obj), and says a code presented with
    another redirect_uri in these words (which the service turns into invalid_grant)."""
    from mcp.server.auth.handlers.token import TokenHandler

    from todo_api.oauth import router

    source = inspect.getsource(TokenHandler.handle)
    assert f'"{router._REDIRECT_MISMATCH}"' in source
    assert "self.response(" in source
    assert list(inspect.signature(TokenHandler.response).parameters) == ["self", "obj"]


USES = [
    PrivateUse(
        "SQLAlchemy",
        "SQLCompiler._result_columns (keyname, name, objects, type)",
        "src/todo_api/db/statements.py",
        _result_columns,
    ),
    PrivateUse(
        "uvicorn",
        "HttpToolsProtocol(config, server_state, app_state, _loop)",
        "src/todo_api/edge/protocol.py",
        _httptools_protocol_signature,
    ),
    PrivateUse(
        "uvicorn",
        "HttpToolsProtocol's hooks (data_received, on_message_*, send_400_response(msg), ...)",
        "src/todo_api/edge/protocol.py",
        _httptools_protocol_hooks,
    ),
    PrivateUse(
        "uvicorn",
        "HttpToolsProtocol.loop, .server_state, .cycle, .transport",
        "src/todo_api/edge/protocol.py",
        _httptools_protocol_state,
    ),
    PrivateUse(
        "uvicorn",
        "RequestResponseCycle.response_started, .response_complete, .keep_alive, "
        ".disconnected, .message_event",
        "src/todo_api/edge/protocol.py",
        _request_cycle_state,
    ),
    PrivateUse(
        "uvicorn",
        "uvicorn.protocols.http.httptools_impl.STATUS_LINE",
        "src/todo_api/edge/protocol.py",
        _status_line,
    ),
    PrivateUse(
        "uvicorn",
        "ServerState.default_headers",
        "src/todo_api/edge/protocol.py",
        _server_state_default_headers,
    ),
    PrivateUse(
        "uvicorn",
        "Server.capture_signals: signal.signal handlers, the signal raised again after shutdown",
        "src/todo_api/process/shutdown.py",
        _signals_raised_again_after_shutdown,
    ),
    PrivateUse(
        "fastapi",
        "fastapi.dependencies.models.Dependant's fields",
        "src/todo_api/edge/routing.py",
        _dependant_fields,
    ),
    PrivateUse(
        "fastapi",
        "APIRoute.dependant (request_param_name, path_params[].field_info, query_params, "
        "dependencies[].name, .call, .query_params[].field_info.is_required())",
        "src/todo_api/edge/routing.py",
        _dependant_of_a_route,
    ),
    PrivateUse(
        "fastapi",
        "fastapi.dependencies.utils.request_params_to_args(fields, query) -> (values, errors)",
        "src/todo_api/edge/routing.py",
        _query_read_as_fastapi_reads_it,
    ),
    PrivateUse(
        "fastapi",
        'APIRoute.matches: "route", "endpoint" and "path_params" in the child scope',
        "src/todo_api/edge/: routing.py, middleware.py, handlers.py, slashes.py",
        _route_in_child_scope,
    ),
    PrivateUse(
        "starlette",
        'Request.state kept in scope["state"]',
        "src/todo_api/edge/middleware.py, edge/handlers.py, mcp/server.py",
        _request_state_in_scope,
    ),
    PrivateUse(
        "starlette",
        "Request._body, ._stream_consumed and ._is_disconnected, as Request.body() leaves them",
        "src/todo_api/kit/http.py",
        _request_body_attributes,
    ),
    PrivateUse(
        "starlette",
        'CORSMiddleware.preflight_response(request_headers) and its 400 body "Disallowed CORS "',
        "src/todo_api/edge/middleware.py",
        _cors_preflight_response,
    ),
    PrivateUse(
        "fastapi",
        "fastapi.routing.iter_route_contexts (.matches, .methods, .path)",
        "src/todo_api/edge/handlers.py, tests/test_head.py",
        _iter_route_contexts,
    ),
    PrivateUse(
        "starlette",
        "StreamingResponse listens for http.disconnect under an ASGI spec_version below 2.4",
        "src/todo_api/edge/head.py",
        _streaming_listens_below_asgi_2_4,
    ),
    PrivateUse(
        "starlette",
        "Route.param_convertors (StringConvertor for a str path parameter)",
        "src/todo_api/edge/routing.py",
        _param_convertors,
    ),
    PrivateUse(
        "fastapi-offline",
        "fastapi_offline/static/ (swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js, "
        "favicon.png)",
        "src/todo_api/edge/docs.py",
        _offline_assets,
    ),
    PrivateUse(
        "mcp",
        "TokenHandler.handle answering through self.response(obj); its words for a mismatched "
        "redirect_uri",
        "src/todo_api/oauth/router.py",
        _token_handler_redirect_mismatch,
    ),
    PrivateUse(
        "fastapi",
        "ModelField.__post_init__ (its _type_adapter from asdict(field_info) and config)",
        "tests/shared_adapters.py",
        _model_field_adapter,
    ),
    PrivateUse("python", "logging._srcfile", "src/todo_api/process/logs.py", _logging_srcfile),
    PrivateUse(
        "httpx",
        "AsyncHTTPTransport._pool (the httpcore pool its requests go through)",
        "src/todo_api/kit/guarded.py",
        _httpx_transport_pool,
    ),
]


def _installed(distribution: str) -> str:
    if distribution == "python":
        import platform

        return platform.python_version()
    return version(distribution)


@pytest.mark.parametrize("use", USES, ids=[f"{use.distribution}: {use.what}" for use in USES])
def test_the_private_api_we_use_is_still_there(use: PrivateUse) -> None:
    try:
        use.check()
        problem = None
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}"
    if problem is not None:
        pytest.fail(
            f"{use.distribution} {_installed(use.distribution)} changed {use.what}, which "
            f"{use.used_in} uses ({problem}). Move that file to what the release offers "
            f"instead, or keep {use.distribution} below this version in pyproject.toml.",
            pytrace=False,
        )


def test_each_library_used_so_is_pinned_below_its_next_release() -> None:
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    requirements = {
        Requirement(line).name.lower(): Requirement(line).specifier
        for line in project["project"]["dependencies"]
    }
    for distribution in {use.distribution.lower() for use in USES} - {"python"}:
        specifier = requirements.get(distribution)
        assert specifier is not None, f"{distribution} is not a dependency in pyproject.toml"
        assert specifier.contains(_installed(distribution)), (distribution, str(specifier))
        assert any(s.operator == "<" for s in specifier), f"{distribution} has no upper bound"


# --- the data layer on public API --------------------------------------------------------------


async def test_a_statement_built_per_call_binds_every_value_through_its_type(
    app: FastAPI, alice: httpx.AsyncClient
) -> None:
    """An IN list of values beside another value whose type converts it (SQLite keeps a UUID
    as text): each goes through its bind processor."""
    created = [(await alice.post("/api/tasks", json={"title": f"t{i}"})).json() for i in range(2)]
    user_id = uuid.UUID(created[0]["user_id"])
    statement = (
        select(tasks.c.title)
        .where(tasks.c.user_id == user_id, tasks.c.id.in_([uuid.UUID(t["id"]) for t in created]))
        .order_by(tasks.c.title)
    )
    async with held(app, Database).connection() as conn:
        rows = (await conn.execute(statement)).rows
    assert [row["title"] for row in rows] == ["t0", "t1"]
