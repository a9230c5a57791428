"""What routes take from the application: its holdings, the database, and a connection for
cold routes."""

from collections.abc import AsyncIterator
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from starlette.applications import Starlette

from todo_api.db import Connection as DbConnection
from todo_api.db import Database
from todo_api.kit.reads import ROUTE, ReadRouting, Route

T = TypeVar("T")


# The app's attribute that keeps its Holdings: a plain attribute, read by `held` several
# times per request (through `app.state`, Starlette's State.__getattr__, it cost 0.4 µs a time).
HOLDINGS = "holdings"


class Holdings:
    """What the application made once for all its requests (the settings, the pool, the token
    verifier, the codecs, ...), one object of each type: `held(app, Database)` is typed, and no
    layer needs to import the entry that made them (create_app, which `hold`s them)."""

    def __init__(self, *parts: object) -> None:
        self._parts: dict[type, object] = {}
        for part in parts:
            if type(part) in self._parts:
                raise ValueError(f"two {type(part).__name__} held")
            self._parts[type(part)] = part


def hold(app: Starlette, holdings: Holdings) -> None:
    """Makes `holdings` the application's."""
    setattr(app, HOLDINGS, holdings)


def held(app: Starlette, kind: type[T]) -> T:
    """The application's one `kind` (see `Holdings`)."""
    holdings: Holdings = getattr(app, HOLDINGS)
    return holdings._parts[kind]  # type: ignore[return-value]  # (what `cast` says, uncalled)


def database(request: Request) -> Database:
    """The request's database: a read replica's or the primary's for a request that only
    reads (todo_api.kit.reads), else the primary."""
    route: Route | None = request.scope.get(ROUTE)
    if route is None:
        return held(request.app, Database)
    return held(request.app, ReadRouting).routed(route, request.scope)


def reads_only(request: Request, only: bool = True) -> None:
    """This request only reads (an MCP tool that reads): with read replicas, one may answer
    it; `only` false: it writes (an MCP tool that writes), the primary answers it
    (todo_api.kit.reads)."""
    routing = getattr(request.app, HOLDINGS)._parts.get(ReadRouting)
    if routing is not None:
        routing.reads_only(request.scope, only)


def read_again(request: Request) -> bool:
    """A request that only reads failed on its read replica: the primary answers it from here
    on. Whether it was on a replica (then what failed is to be done again; todo_api.kit.reads)."""
    routing = getattr(request.app, HOLDINGS)._parts.get(ReadRouting)
    return routing is not None and routing.again(request.scope)


def primary(request: Request) -> Database:
    """The primary, whatever the request: for what checks a credential, or must be current."""
    return held(request.app, Database)


async def _connection(request: Request) -> AsyncIterator[DbConnection]:
    async with database(request).connection() as conn:
        yield conn


# For routes off the hot path: a pooled connection for the whole request. Hot routes take
# their connection from `database(request)` for just the statements they run.
Connection = Annotated[DbConnection, Depends(_connection)]
