"""The direct routes answer exactly as FastAPI would: every request below goes once through the
app and once through its twin built with `direct_routes=False` (same settings, same database),
and the two answers must have the same status, headers and body, byte for byte.

Each app has its own user, and both users make the same requests in the same order, so their
data is the same but for ids and moments. Before each request both make a fresh task. A read
then goes to the first user's task through both apps, as that user. A write goes to each user's
own task, through that user's app; its answers are compared with the ids and timestamps
replaced by placeholders (nothing else is).
"""

import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.support import client_for, close_app, token_for
from todo_api.app import Service, create_app
from todo_api.config import Settings
from todo_api.edge import hot
from todo_api.edge.routing import DirectRoutes, direct_with_dependencies, is_direct

OTHER = str(uuid.uuid4())  # an id no task has
# Headers that differ on every request, whichever way it is served.
PER_REQUEST_HEADERS = {"x-request-id", "date"}
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
FEED_SECRET = re.compile(r"/feeds/[A-Za-z0-9_-]{43}\.ics")
NEW_TASK = {"title": "Buy milk", "description": "2 litres", "tags": ["errands"]}


@dataclass(frozen=True)
class Case:
    """A request; `{task}` (the case's task) and `{other}` (no task) are filled in its path,
    header values and body."""

    name: str
    method: str
    path: str
    body: Any = None  # sent as JSON unless bytes
    headers: dict[str, str] = field(default_factory=dict)
    auth: str = "token"  # or "none", "bad", "basic"
    times: int = 1  # sent this many times; the last answer is compared
    comment: bool = False  # the task has a comment first: `{comment}`
    feed: bool = False  # the user has a new calendar feed first: `{feed}`, its URL's `{secret}`


JSON = {"Content-Type": "application/json"}
TASK = "/api/tasks/{task}"
BULK = "/api/tasks/bulk"
QUICK = "/api/tasks/quick"
COMMENTS = TASK + "/comments"
COMMENT = COMMENTS + "/{comment}"
CASES = [
    # get
    Case("get", "GET", TASK),
    Case("get 304 If-None-Match", "GET", TASK, headers={"If-None-Match": '"1"'}),
    Case("get 304 If-None-Match *", "GET", TASK, headers={"If-None-Match": "*"}),
    Case("get 200 If-None-Match stale", "GET", TASK, headers={"If-None-Match": 'W/"7", "8"'}),
    Case("get bad id", "GET", "/api/tasks/not-a-uuid"),
    Case("get 404", "GET", "/api/tasks/{other}"),
    Case("get no token", "GET", TASK, auth="none"),
    Case("get bad token", "GET", TASK, auth="bad"),
    Case("get not bearer", "GET", TASK, auth="basic"),
    Case("get bulk 405", "GET", "/api/tasks/bulk"),
    Case("get unknown subpath", "GET", TASK + "/nothing"),
    Case("get trailing slash", "GET", TASK + "/"),
    Case("head", "HEAD", TASK),
    Case("options 405", "OPTIONS", TASK),
    Case(
        "cors preflight",
        "OPTIONS",
        TASK,
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "PATCH"},
    ),
    Case("get cross-origin", "GET", TASK, headers={"Origin": "http://localhost:3000"}),
    # list: direct, its query read and validated as FastAPI does (list_query's parameters)
    Case("list", "GET", "/api/tasks"),
    Case("list head", "HEAD", "/api/tasks"),
    Case("list no token", "GET", "/api/tasks", auth="none"),
    Case("list cross-origin", "GET", "/api/tasks", headers={"Origin": "http://localhost:3000"}),
    Case("list empty query", "GET", "/api/tasks?"),
    Case("list with a query", "GET", "/api/tasks?limit=2"),
    Case("list validation error", "GET", "/api/tasks?limit=0"),
    Case("list errors together", "GET", "/api/tasks?limit=0&completed=maybe&priority=urgent"),
    Case("list priorities and tags", "GET", "/api/tasks?priority=high&priority=low&tag=errands"),
    Case("list a filter", "GET", "/api/tasks?filter=p4%20%26%20%40errands&completed=false"),
    Case("list a bad filter", "GET", "/api/tasks?filter=%28%28"),
    Case("list a limit twice", "GET", "/api/tasks?limit=1&limit=3"),
    Case("list an unknown parameter", "GET", "/api/tasks?colour=red"),
    Case("list a bad cursor", "GET", "/api/tasks?cursor=nonsense"),
    # create
    Case("create", "POST", "/api/tasks", NEW_TASK),
    Case(
        "create replayed",
        "POST",
        "/api/tasks",
        NEW_TASK,
        headers={"Idempotency-Key": "create-{task}"},
        times=2,
    ),
    Case(
        "create key reused",
        "POST",
        "/api/tasks",
        {"title": "Another"},
        headers={"Idempotency-Key": "reused-{task}"},
        times=2,
    ),
    Case("create no token", "POST", "/api/tasks", NEW_TASK, auth="none"),
    Case("create bad token", "POST", "/api/tasks", NEW_TASK, auth="bad"),
    Case("create no body", "POST", "/api/tasks", b"", JSON),
    Case("create bad JSON", "POST", "/api/tasks", b'{"title": ', JSON),
    Case("create not an object", "POST", "/api/tasks", [NEW_TASK]),
    Case(
        "create wrong content type",
        "POST",
        "/api/tasks",
        b'{"title": "x"}',
        {"Content-Type": "text/plain"},
    ),
    Case("create validation error", "POST", "/api/tasks", {"title": " ", "priority": "urgent"}),
    Case("create unknown field", "POST", "/api/tasks", {"title": "x", "colour": "red"}),
    Case("create too large", "POST", "/api/tasks", {"title": "x" * (1024 * 1024)}),
    Case("quick add", "POST", QUICK, {"text": "Buy bread 2030-12-24 17:00 @shop p2"}),
    Case(
        "quick add replayed",
        "POST",
        QUICK,
        {"text": "Buy bread tomorrow"},
        headers={"Idempotency-Key": "quick-{task}", "Accept-Language": "de, en"},
        times=2,
    ),
    Case("quick add unknown list", "POST", QUICK, {"text": "Buy bread #nowhere"}),
    Case("quick add validation error", "POST", QUICK, {"text": "", "lang": "xx"}),
    Case("quick add no token", "POST", QUICK, {"text": "Buy bread"}, auth="none"),
    Case("quick preview", "POST", f"{QUICK}/preview", {"text": "Buy bread tomorrow #nowhere"}),
    Case("quick preview read", "POST", f"{QUICK}/preview", {"text": "Buy bread 2030-12-24 p2"}),
    Case("delete the collection 405", "DELETE", "/api/tasks"),
    # PATCH and PUT
    Case("patch", "PATCH", TASK, {"title": "Renamed", "description": None}),
    Case("patch If-Match", "PATCH", TASK, {"title": "Renamed"}, {"If-Match": '"1"'}),
    Case("patch 412", "PATCH", TASK, {"title": "Renamed"}, {"If-Match": '"9"'}),
    Case("patch bad id", "PATCH", "/api/tasks/not-a-uuid", {"title": "Renamed"}),
    Case("patch 404", "PATCH", "/api/tasks/{other}", {"title": "Renamed"}),
    Case("patch no token", "PATCH", TASK, {"title": "Renamed"}, auth="none"),
    Case("patch bad token", "PATCH", TASK, {"title": "Renamed"}, auth="bad"),
    Case("patch bad JSON", "PATCH", TASK, b"{", JSON),
    Case("patch wrong content type", "PATCH", TASK, b'{"title": "x"}', {"Content-Type": "x/y"}),
    Case("patch validation error", "PATCH", TASK, {"title": None}),
    Case("patch nothing", "PATCH", TASK, {}),
    Case("patch unknown field", "PATCH", TASK, {"titel": "x"}),
    Case("put", "PUT", TASK, {"title": "Replaced", "is_completed": True}),
    Case("put 412", "PUT", TASK, {"title": "Replaced"}, {"If-Match": '"2"'}),
    Case("put 404", "PUT", "/api/tasks/{other}", {"title": "Replaced"}),
    Case("put validation error", "PUT", TASK, {"title": "x" * 201}),
    # complete, reopen, move
    Case("complete", "POST", TASK + "/complete"),
    Case("complete If-Match", "POST", TASK + "/complete", headers={"If-Match": '"1"'}),
    Case("complete 412", "POST", TASK + "/complete", headers={"If-Match": '"5"'}),
    Case("complete 404", "POST", "/api/tasks/{other}/complete"),
    Case("complete bad id", "POST", "/api/tasks/not-a-uuid/complete"),
    Case("complete no token", "POST", TASK + "/complete", auth="none"),
    Case("complete 405", "PUT", TASK + "/complete"),
    Case("reopen", "POST", TASK + "/reopen"),
    Case("reopen 412", "POST", TASK + "/reopen", headers={"If-Match": '"5"'}),
    Case("move last", "POST", TASK + "/move", {}),
    Case("move before an unknown task", "POST", TASK + "/move", {"before": "{other}"}),
    Case("move both neighbours", "POST", TASK + "/move", {"before": "{other}", "after": "{task}"}),
    Case("move 412", "POST", TASK + "/move", {}, {"If-Match": '"3"'}),
    Case("move no body", "POST", TASK + "/move", b"", JSON),
    # restore (a task that is not deleted: the task; none: 404)
    Case("restore", "POST", TASK + "/restore"),
    Case("restore 404", "POST", "/api/tasks/{other}/restore"),
    # a task's completions (none recorded: an empty page; nothing to undo: 409)
    Case("completions", "GET", TASK + "/completions"),
    Case("completions 404", "GET", "/api/tasks/{other}/completions"),
    Case("undo completion 409", "POST", TASK + "/completions/latest/undo"),
    Case("undo completion 404", "POST", "/api/tasks/{other}/completions/latest/undo"),
    # delete
    Case("delete", "DELETE", TASK),
    Case("delete If-Match", "DELETE", TASK, headers={"If-Match": '"1"'}),
    Case("delete 412", "DELETE", TASK, headers={"If-Match": '"4"'}),
    Case("delete 404", "DELETE", "/api/tasks/{other}"),
    Case("delete bad id", "DELETE", "/api/tasks/not-a-uuid"),
    Case("delete no token", "DELETE", TASK, auth="none"),
    Case("delete bad token", "DELETE", TASK, auth="bad"),
    # bulk, and the paths that are not task ids
    Case(
        "bulk",
        "POST",
        "/api/tasks/bulk",
        {
            "operations": [
                {"op": "update", "id": "{task}", "data": {"title": "Bulk"}},
                {"op": "create", "data": {"title": "Made in bulk"}},
                {"op": "complete", "id": "{task}"},
            ]
        },
    ),
    Case("bulk 404", "POST", BULK, {"operations": [{"op": "delete", "id": "{other}"}]}),
    Case("bulk validation error", "POST", "/api/tasks/bulk", {"operations": [{"op": "jump"}]}),
    Case("bulk no token", "POST", "/api/tasks/bulk", {"operations": []}, auth="none"),
    Case("bulk 405", "DELETE", "/api/tasks/bulk"),
    Case("changes 405", "POST", "/api/tasks/changes"),
    Case("changes PATCH 405", "PATCH", "/api/tasks/changes"),
    # a task's comments: the list direct without a query string, like the task list
    Case("comments", "GET", COMMENTS, comment=True),
    Case("comments none", "GET", COMMENTS),
    Case("comments with a query", "GET", COMMENTS + "?limit=1", comment=True),
    Case("comments bad limit", "GET", COMMENTS + "?limit=0&cursor=" + "x" * 300),
    Case("comments bad cursor", "GET", COMMENTS + "?cursor=nonsense", comment=True),
    Case("comments 404", "GET", "/api/tasks/{other}/comments"),
    Case("comments no token", "GET", COMMENTS, auth="none"),
    Case("comment", "POST", COMMENTS, {"body": "Nice @nobody@example.test"}),
    Case("comment validation error", "POST", COMMENTS, {"body": ""}),
    Case("comment on no task", "POST", "/api/tasks/{other}/comments", {"body": "x"}),
    Case("comment edited", "PATCH", COMMENT, {"body": "Edited"}, comment=True),
    Case("comment edited 404", "PATCH", COMMENTS + "/{other}", {"body": "Edited"}),
    Case("comment deleted", "DELETE", COMMENT, comment=True),
    Case("comment deleted bad id", "DELETE", COMMENTS + "/not-a-uuid"),
    # calendar feeds: made, listed and deleted with a token; read with the URL's secret alone
    Case("feeds", "GET", "/api/feeds", feed=True),
    Case("feeds no token", "GET", "/api/feeds", auth="none"),
    Case("feed made", "POST", "/api/feeds", {"include": "all"}),
    Case("feed of an unknown list", "POST", "/api/feeds", {"list_id": "{other}"}),
    Case("feed made validation error", "POST", "/api/feeds", {"include": "x", "colour": "red"}),
    Case("feed made no token", "POST", "/api/feeds", {}, auth="none"),
    Case("feed deleted", "DELETE", "/api/feeds/{feed}", feed=True),
    Case("feed deleted 404", "DELETE", "/api/feeds/{other}"),
    Case("feed deleted bad id", "DELETE", "/api/feeds/not-a-uuid"),
    Case("feed read", "GET", "/feeds/{secret}.ics", auth="none", feed=True),
    Case("feed read head", "HEAD", "/feeds/{secret}.ics", auth="none", feed=True),
    Case(
        "feed read 304",
        "GET",
        "/feeds/{secret}.ics",
        headers={"If-None-Match": "*"},
        auth="none",
        feed=True,
    ),
    Case("feed read with a token", "GET", "/feeds/{secret}.ics", feed=True),
    Case("feed read wrong secret", "GET", "/feeds/{other}.ics", auth="none"),
    Case("feed 405", "POST", "/feeds/{secret}.ics", auth="none", feed=True),
]


@pytest.fixture(scope="module")
async def twin(settings: Settings) -> AsyncIterator[FastAPI]:
    """The same app with every route served by FastAPI."""
    app = create_app(settings, direct_routes=False)
    try:
        yield app
    finally:
        await close_app(app)


@pytest.fixture(scope="module")
async def layers(settings: Settings) -> AsyncIterator[FastAPI]:
    """The same app without its hot lane: every request crosses the edge's layers."""
    app = create_app(settings)
    assert isinstance(app, Service)
    app.hot_lane = None
    try:
        yield app
    finally:
        await close_app(app)


@pytest.fixture(scope="module")
def tokens(settings: Settings) -> tuple[str, str]:
    """The user of the app, and the user of its twin."""
    return token_for(settings), token_for(settings)


def _authorization(case: Case, token: str) -> dict[str, str]:
    return {
        "token": {"Authorization": f"Bearer {token}"},
        "none": {},
        "bad": {"Authorization": "Bearer not.a.token"},
        "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
    }[case.auth]


async def _new_task(client: httpx.AsyncClient, token: str) -> str:
    response = await client.post(
        "/api/tasks", json=NEW_TASK, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.text
    task_id: str = response.json()["id"]
    return task_id


async def _new_comment(client: httpx.AsyncClient, token: str, task: str) -> str:
    response = await client.post(
        f"/api/tasks/{task}/comments",
        json={"body": "First"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    comment_id: str = response.json()["id"]
    return comment_id


async def _new_feed(client: httpx.AsyncClient, token: str) -> str:
    """A new calendar feed of everything: `id:secret`."""
    response = await client.post(
        "/api/feeds", json={"include": "all"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.text
    feed = response.json()
    return f"{feed['id']}:{feed['url'].rpartition('/')[2].removesuffix('.ics')}"


async def _prepared(client: httpx.AsyncClient, token: str, case: Case) -> str:
    """The case's task (`{task}`), and its comment (`{comment}`) or feed (`{feed}` and
    `{secret}`) if the case has one: as `task`, `task/comment` or `task/feed:secret`."""
    task = await _new_task(client, token)
    if case.feed:
        return f"{task}/{await _new_feed(client, token)}"
    return f"{task}/{await _new_comment(client, token, task)}" if case.comment else task


async def _send(client: httpx.AsyncClient, case: Case, token: str, made: str) -> httpx.Response:
    task, _, comment = made.partition("/")
    feed, _, secret = comment.partition(":")

    def fill(text: str) -> str:
        text = text.replace("{feed}", feed).replace("{secret}", secret)
        return text.replace("{task}", task).replace("{comment}", comment).replace("{other}", OTHER)

    if case.body is None or isinstance(case.body, bytes):
        content = case.body
        headers = {}
    else:
        content = fill(json.dumps(case.body)).encode()
        headers = dict(JSON)
    headers |= {name: fill(value) for name, value in case.headers.items()}
    headers |= _authorization(case, token)
    for _ in range(case.times):
        response = await client.request(
            case.method, fill(case.path), content=content, headers=headers
        )
    return response


def _seen(response: httpx.Response, task: str | None) -> tuple[int, list[tuple[str, str]], str]:
    """What a client sees, without the per-request headers. With `task` (a write's own task),
    that id and the ids and timestamps the write made become placeholders."""
    headers = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name not in PER_REQUEST_HEADERS
    ]
    body = response.text
    if task is not None:
        names: dict[str, str] = {task.partition("/")[0]: "<task>"}

        def placeholder(match: re.Match[str]) -> str:
            return names.setdefault(match[0], f"<id {len(names)}>")

        def normalised(text: str) -> str:
            text = FEED_SECRET.sub("/feeds/<secret>.ics", text)  # a new feed's URL
            return TIMESTAMP.sub("<time>", UUID.sub(placeholder, text))

        # The lengths of timestamps vary (orjson leaves out a zero fraction): each side's
        # length is checked against its own body instead.
        assert response.headers.get("content-length", str(len(response.content))) == str(
            len(response.content)
        )
        headers = [(n, normalised(v)) for n, v in headers if n != "content-length"]
        body = normalised(body)
    return response.status_code, headers, body


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_a_direct_route_answers_as_fastapi_does(
    app: FastAPI, twin: FastAPI, tokens: tuple[str, str], case: Case
) -> None:
    token, twin_token = tokens
    async with client_for(app) as direct, client_for(twin) as through_fastapi:
        task = await _prepared(direct, token, case)
        twin_task = await _prepared(through_fastapi, twin_token, case)
        if case.method in READ_METHODS:  # the very same task, as the same user
            direct_answer = _seen(await _send(direct, case, token, task), None)
            fastapi_answer = _seen(await _send(through_fastapi, case, token, task), None)
        else:
            direct_answer = _seen(await _send(direct, case, token, task), task)
            fastapi_answer = _seen(
                await _send(through_fastapi, case, twin_token, twin_task), twin_task
            )
    assert direct_answer == fastapi_answer


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_the_hot_lane_answers_as_the_layers_do(
    app: FastAPI, layers: FastAPI, settings: Settings, case: Case
) -> None:
    """The same app through the lane and through the edge's layers (todo_api.edge.hot): the
    same status, headers (Vary: Origin, private, nosniff among them) and body. A user of its
    own on each side, new to each case (a write's answer shows the task's place)."""
    token, layers_token = token_for(settings), token_for(settings)
    async with client_for(app) as lane, client_for(layers) as through_layers:
        task = await _prepared(lane, token, case)
        layers_task = await _prepared(through_layers, layers_token, case)
        if case.method in READ_METHODS:
            lane_answer = _seen(await _send(lane, case, token, task), None)
            layers_answer = _seen(await _send(through_layers, case, token, task), None)
        else:
            lane_answer = _seen(await _send(lane, case, token, task), task)
            answer = await _send(through_layers, case, layers_token, layers_task)
            layers_answer = _seen(answer, layers_task)
    assert lane_answer == layers_answer


def _scope(method: str, path: str, *headers: tuple[bytes, bytes], query: bytes = b"") -> Scope:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": query,
        "headers": [(b"authorization", b"Bearer x"), *headers],
    }


JSON_BODY = (b"content-type", b"application/json")


def test_the_hot_lane_takes_the_hot_routes_and_nothing_the_layers_would_change(
    app: FastAPI,
) -> None:
    assert isinstance(app, Service)
    assert app.hot_lane is not None
    lane = app.hot_lane.route_for
    task = f"/api/tasks/{OTHER}"
    body = (b"content-length", b"20")
    for method, path, *headers in [
        ("GET", "/api/tasks"),
        ("GET", task),
        ("POST", "/api/tasks", JSON_BODY, body),
        ("PATCH", task, JSON_BODY, body),
        ("POST", f"{task}/complete"),
        ("GET", "/api/tasks/not-a-uuid"),  # its 404 too
    ]:
        assert lane(_scope(method, path, *headers)) is not None, (method, path)
    for method, path, query in [
        ("GET", "/api/tasks", b"limit=2"),  # the query read as FastAPI reads it
        ("GET", "/api/tasks", b"filter=p1"),
        ("GET", f"{task}/comments", b"limit=1"),
    ]:
        assert lane(_scope(method, path, query=query)) is not None, (method, path)
    for method, path, *headers in [
        ("GET", f"{task}/comments"),
    ]:
        assert lane(_scope(method, path, *headers)) is not None, (method, path)
    for scope in [
        _scope("HEAD", task),  # answered as GET by the layers
        _scope("GET", task, (b"origin", b"http://elsewhere.example")),  # CORS's own
        _scope("POST", "/api/tasks", (b"transfer-encoding", b"chunked")),  # counted
        _scope("POST", "/api/tasks", (b"content-length", b"99999999999")),  # refused
        _scope("POST", "/api/tasks", (b"content-length", b"+1")),  # counted
        _scope("GET", "/api/lists"),  # not a direct route
        _scope("GET", "/oauth/token"),  # answers CORS itself
    ]:
        assert lane(scope) is None, scope


async def test_no_hot_lane_behind_trusted_proxies(settings: Settings) -> None:
    """The forwarded address is read by a layer outside the edge's: every request takes it."""
    app = create_app(settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]}))
    try:
        assert isinstance(app, Service)
        assert app.hot_lane is None
    finally:
        await close_app(app)


# --- every direct route is compared ------------------------------------------------------------


def _direct_routers(app: FastAPI) -> list[Any]:
    for middleware in app.user_middleware:
        if middleware.cls is DirectRoutes:
            routers: list[Any] = middleware.kwargs["routers"]
            return routers
    raise AssertionError("the app serves no direct routes")


def _name(route: BaseRoute | None) -> str:
    return f"{sorted(route.methods)} {route.path}" if isinstance(route, APIRoute) else "-"


def _route_for(routes: list[BaseRoute], method: str, path: str) -> BaseRoute | None:
    """The route a request lands on, as DirectRoutes and FastAPI both match it."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in routes:
        if method in getattr(route, "methods", set()):
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route
    return None


def test_every_direct_route_is_compared(app: FastAPI) -> None:
    routes = [route for router in _direct_routers(app) for route in router.routes]
    direct = {
        _name(route) for route in routes if is_direct(route) or direct_with_dependencies(route)
    }
    # A case with a query string reaches a route that is direct without one through FastAPI.
    compared = {
        _name(_route_for(routes, case.method, case.path.replace("{task}", OTHER)))
        for case in CASES
        if "?" not in case.path
    }
    assert not direct - compared, f"direct routes without a case: {sorted(direct - compared)}"
    # The hot routes are among them (a change that stopped serving one directly shows here).
    assert {
        "['GET'] /api/tasks",
        "['GET'] /api/tasks/{task_id}",
        "['POST'] /api/tasks",
        "['PATCH'] /api/tasks/{task_id}",
        "['POST'] /api/tasks/{task_id}/complete",
    } <= direct


def test_the_hot_lane_accounts_for_every_layer_of_the_app(app: FastAPI) -> None:
    """The lane passes the edge's layers by, knowing what each would do (todo_api.edge.hot):
    a layer added to the app, removed or moved fails here until the lane accounts for it."""
    assert [layer.cls for layer in app.user_middleware] == list(hot.LAYERS)
    assert isinstance(app, Service)
    assert app.hot_lane is not None


class _Stamp:
    """A layer the lane does not know: it marks every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-stamp", b"1")]
            await send(message)

        await self.app(scope, receive, stamped)


async def test_a_layer_the_hot_lane_does_not_know_is_crossed_by_every_request(
    settings: Settings,
) -> None:
    app = create_app(settings)
    app.add_middleware(_Stamp)
    try:
        async with client_for(app, token_for(settings)) as client:
            for path in ("/api/tasks", f"/api/tasks/{OTHER}"):  # the lane's, but for _Stamp
                response = await client.get(path)
                assert response.headers.get("x-stamp") == "1", path
        assert isinstance(app, Service)
        assert app.hot_lane is None
    finally:
        await close_app(app)
