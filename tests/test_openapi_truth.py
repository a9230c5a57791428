"""The OpenAPI document says what the service does: every status a route answers, the headers
it sends, null only where null is taken, and examples the service accepts."""

import json
import re
from typing import Any

import httpx
import jsonschema
import pytest

from tests.lists.helpers import create_list
from tests.support import HTTP_METHODS, operations
from tests.tasks.helpers import assert_error, create_task
from todo_api.kit.inputs import UUID_EXAMPLE

USER_PATH = "/api/{user_id}/tasks"
SIGN_IN_ROUTES = [f"/api/auth/{name}" for name in ("register", "login", "token", "refresh")]


def header_names(operation: dict[str, Any]) -> set[str]:
    return {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"}


def response_headers(operation: dict[str, Any], status: str) -> set[str]:
    return set(operation["responses"][status].get("headers", {}))


def test_every_route_that_takes_a_body_lists_400_and_413_and_none_lists_415(
    schema: dict[str, Any],
) -> None:
    """A body of another type is 400 INVALID_REQUEST (the contract's error table): no route
    answers 415, so none lists it."""
    with_body = [(m, p, op) for m, p, op in operations(schema) if "requestBody" in op]
    assert len(with_body) >= 9
    for method, path, operation in with_body:
        assert {"400", "413"} <= set(operation["responses"]), (method, path)
    for method, path, operation in operations(schema):
        assert "415" not in operation["responses"], (method, path)


def test_retry_after_and_www_authenticate_are_documented_where_sent(
    schema: dict[str, Any],
) -> None:
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        for status in ("429", "503"):
            if status in responses:
                assert "Retry-After" in response_headers(operation, status), (method, path)
        if "401" in responses:
            assert "WWW-Authenticate" in response_headers(operation, "401"), (method, path)


def test_sign_in_routes_list_429(schema: dict[str, Any]) -> None:
    for path in SIGN_IN_ROUTES:
        assert "429" in schema["paths"][path]["post"]["responses"], path


def test_user_in_path_routes_document_their_conditionals(schema: dict[str, Any]) -> None:
    item = schema["paths"][f"{USER_PATH}/{{task_id}}"]
    assert "if-none-match" in header_names(item["get"])
    assert {"200", "304"} <= set(item["get"]["responses"])
    assert "ETag" in response_headers(item["get"], "200")
    toggle = schema["paths"][f"{USER_PATH}/{{task_id}}/complete"]["patch"]
    for operation in (item["put"], item["delete"], toggle):
        assert "if-match" in header_names(operation)
        assert "412" in operation["responses"]


@pytest.mark.parametrize("path", ["/api/tasks/bulk", USER_PATH, "/api/tasks"])
def test_idempotent_routes_list_422_idempotency_key_reused(
    schema: dict[str, Any], path: str
) -> None:
    operation = schema["paths"][path]["post"]
    assert "idempotency-key" in header_names(operation)
    assert "IDEMPOTENCY_KEY_REUSED" in operation["responses"]["422"]["description"]


def test_the_headers_sent_are_documented(schema: dict[str, Any]) -> None:
    for path in ("/api/tasks", USER_PATH):
        listing = schema["paths"][path]["get"]
        assert {"X-Total-Count", "X-Next-Cursor", "Link"} <= response_headers(listing, "200")
        created = schema["paths"][path]["post"]
        assert {"Location", "ETag"} <= response_headers(created, "201")
    for method in ("get", "put", "patch"):
        assert "ETag" in response_headers(schema["paths"]["/api/tasks/{task_id}"][method], "200")
    for method, path, operation in operations(schema):
        for status in operation["responses"]:
            if operation.get("security") and status.startswith("2"):
                assert "Cache-Control" in response_headers(operation, status), (method, path)


def nullable(field: dict[str, Any]) -> bool:
    return any(option.get("type") == "null" for option in field.get("anyOf", []))


def test_only_fields_that_take_null_are_nullable(schema: dict[str, Any]) -> None:
    update = schema["components"]["schemas"]["TaskUpdate"]["properties"]
    assert {name for name, field in update.items() if nullable(field)} == {
        "list_id",
        "parent_id",
        "section_id",
        "description",
        "due_at",
        "due_date",
        "start_at",
        "start_date",
        "recurrence",
        "assignee_id",
    }
    create = schema["components"]["schemas"]["TaskCreate"]["properties"]
    assert {name for name, field in create.items() if nullable(field)} == {
        "list_id",
        "parent_id",
        "section_id",
        "description",
        "due_at",
        "due_date",
        "start_at",
        "start_date",
        "recurrence",
        "assignee_id",
    }
    list_update = schema["components"]["schemas"]["ListUpdate"]["properties"]
    assert {name for name, field in list_update.items() if nullable(field)} == {
        "color",
        "parent_id",
    }


async def test_a_list_name_is_not_cleared_and_its_colour_is(alice: httpx.AsyncClient) -> None:
    made = await create_list(alice, "Errands", color="#aabbcc")
    refused = await alice.patch(f"/api/lists/{made['id']}", json={"name": None, "color": None})
    body = assert_error(refused, 400, "VALIDATION_ERROR")
    assert [d["field"] for d in body["details"]] == ["name"]
    cleared = await alice.patch(f"/api/lists/{made['id']}", json={"color": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["color"] is None


def test_a_move_names_one_neighbour_at_most_and_null_is_none(schema: dict[str, Any]) -> None:
    for model in ("TaskMove", "ListMove"):
        refused = schema["components"]["schemas"][model]["not"]
        assert refused["required"] == ["before", "after"]
        assert refused["properties"] == {
            "before": {"type": "string"},
            "after": {"type": "string"},
        }


async def test_a_move_with_both_neighbours_null_goes_last(alice: httpx.AsyncClient) -> None:
    first, second = await create_list(alice, "One"), await create_list(alice, "Two")
    body = {"before": None, "after": None}
    moved_list = await alice.post(f"/api/lists/{first['id']}/move", json=body)
    assert moved_list.status_code == 200, moved_list.text
    assert moved_list.json()["position"] > second["position"]
    one, two = await create_task(alice, title="one"), await create_task(alice, title="two")
    moved_task = await alice.post(f"/api/tasks/{one['id']}/move", json=body)
    assert moved_task.status_code == 200, moved_task.text
    assert moved_task.json()["position"] > two["position"]
    both = {"before": two["id"], "after": two["id"]}
    assert_error(
        await alice.post(f"/api/tasks/{one['id']}/move", json=both), 400, "VALIDATION_ERROR"
    )


def test_the_list_filter_is_documented_as_a_list_id_or_inbox(schema: dict[str, Any]) -> None:
    for path in ("/api/tasks", USER_PATH):
        parameters = schema["paths"][path]["get"]["parameters"]
        [list_id] = [p for p in parameters if p["name"] == "list_id"]
        assert list_id["schema"]["anyOf"] == [
            {"type": "string", "format": "uuid"},
            {"type": "string", "enum": ["inbox"]},
        ]


async def test_null_is_refused_where_not_nullable_and_taken_where_nullable(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, due_at="2026-03-02T09:00:00Z", description="d")
    for name in ("title", "is_completed", "priority", "tags"):
        response = await alice.patch(f"/api/tasks/{task['id']}", json={name: None})
        assert_error(response, 400, "VALIDATION_ERROR")
    response = await alice.patch(
        f"/api/tasks/{task['id']}", json={"description": None, "due_at": None, "recurrence": None}
    )
    assert response.status_code == 200, response.text


def test_tag_items_have_a_minimum_length(schema: dict[str, Any]) -> None:
    for model in ("TaskCreate", "TaskUpdate"):
        tags = schema["components"]["schemas"][model]["properties"]["tags"]
        assert tags["items"]["minLength"] == 1
    for path in ("/api/tasks", USER_PATH):
        [tag] = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "tag"]
        assert tag["schema"]["anyOf"][0]["items"]["minLength"] == 1


def query_examples(operation: dict[str, Any]) -> list[tuple[str, Any]]:
    found = []
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "query":
            continue
        examples = parameter.get("examples", {})
        values = [e["value"] for e in examples.values()] if isinstance(examples, dict) else []
        if "example" in parameter:
            values.append(parameter["example"])
        values += parameter.get("schema", {}).get("examples", [])
        found += [(parameter["name"], value) for value in values]
    return found


async def test_every_query_example_is_accepted(
    schema: dict[str, Any], alice: httpx.AsyncClient
) -> None:
    me = (await alice.get("/api/auth/me")).json()["id"]
    # A host whose look-up fails here without asking DNS (a label over 63 characters).
    unresolvable = f"https://{'a' * 64}.example/"
    hook = await alice.post("/api/webhooks", json={"url": unresolvable, "events": ["*"]})
    saved = await alice.post("/api/filters", json={"name": "Urgent", "query": "p1"})
    task = await alice.post("/api/tasks", json={"title": "With comments"})
    listed = await alice.post("/api/lists", json={"name": "With activity"})
    ids = {
        "{user_id}": me,
        "{webhook_id}": hook.json()["id"],
        "{filter_id}": saved.json()["id"],
        "{task_id}": task.json()["id"],
        "{list_id}": listed.json()["id"],
    }
    tried = 0
    for method, path, operation in operations(schema):
        if method != "get" or not path.startswith("/api/"):
            continue
        for name, value in query_examples(operation):
            for placeholder, value_of in ids.items():
                path = path.replace(placeholder, value_of)
            response = await alice.get(path, params={name: value})
            assert response.status_code == 200, (path, name, value, response.text)
            tried += 1
    assert tried >= 8


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_bulk_answers_other_methods_with_405_allowing_post(
    alice: httpx.AsyncClient, method: str
) -> None:
    response = await alice.request(method, "/api/tasks/bulk")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_changes_answers_other_methods_with_405_allowing_get(
    alice: httpx.AsyncClient, method: str
) -> None:
    response = await alice.request(method, "/api/tasks/changes", json={"title": "x"})
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "GET, HEAD"  # HEAD is answered wherever GET is


# Rules of the shape the document's pattern describes, from the simplest to the longest.
RULES_OF_THE_PATTERN = [
    "FREQ=DAILY",
    "RRULE:FREQ=YEARLY;INTERVAL=9",
    "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU",
    "FREQ=MONTHLY;INTERVAL=2;BYDAY=SU;COUNT=999",
    "FREQ=YEARLY;INTERVAL=9;BYDAY=SA;UNTIL=19000228",
    "FREQ=DAILY;UNTIL=20991228T235959Z",
    "FREQ=MONTHLY;BYMONTHDAY=15",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    "FREQ=YEARLY;INTERVAL=2;BYMONTH=1,12;BYDAY=2MO,-1SU;WKST=SU",
    "FREQ=YEARLY;BYWEEKNO=1,-1;BYDAY=MO",
    "FREQ=YEARLY;BYYEARDAY=1,-1;COUNT=3",
    "FREQ=DAILY;BYMONTHDAY=1,-1;BYDAY=MO;BYHOUR=17;BYMINUTE=30;BYSECOND=0;BYSETPOS=1",
]
# Sub-daily rules are refused, and outside the pattern.
SUB_DAILY_RULES = ["FREQ=HOURLY", "FREQ=MINUTELY;INTERVAL=15", "RRULE:FREQ=SECONDLY"]


def test_the_recurrence_pattern_describes_the_rules_and_a_due_time_comes_with_one(
    schema: dict[str, Any],
) -> None:
    components = schema["components"]["schemas"]
    for model in ("TaskCreate", "TaskUpdate"):
        field = components[model]["properties"]["recurrence"]
        string = next(option for option in field.get("anyOf", [field]) if "pattern" in option)
        pattern = re.compile(string["pattern"])
        assert all(pattern.fullmatch(rule) for rule in RULES_OF_THE_PATTERN)
        assert not any(pattern.fullmatch(rule) for rule in SUB_DAILY_RULES)
        assert not pattern.fullmatch("0" * 500)
        given = components[model]["if"]
        assert given["required"] == ["recurrence"]
        kinds = components[model]["then"]["anyOf"]
        assert [kind["properties"] for kind in kinds] == [
            {"due_at": {"type": "string"}},
            {"due_date": {"type": "string"}},
            {"start_at": {"type": "string"}},
            {"start_date": {"type": "string"}},
        ]
        # Never both a due time and a due date, nor both a start time and a start date.
        assert [both["required"] for both in components[model]["not"]["anyOf"]] == [
            ["due_at", "due_date"],
            ["start_at", "start_date"],
        ]
    kinds = components["TaskCreate"]["then"]["anyOf"]
    assert [kind["required"] for kind in kinds] == [
        ["due_at"],
        ["due_date"],
        ["start_at"],
        ["start_date"],
    ]
    # A reminder before the due time needs one on create too (a start is not one).
    [reminded] = components["TaskCreate"]["allOf"]
    assert reminded["if"]["properties"]["reminders"]["contains"] == {"required": ["before_due"]}
    assert [kind["required"] for kind in reminded["then"]["anyOf"]] == [["due_at"], ["due_date"]]


async def test_a_reminder_before_the_due_time_is_refused_on_create_without_one(
    alice: httpx.AsyncClient,
) -> None:
    """What the document's second if/then says."""
    reminders = [{"before_due": "PT15M"}]
    response = await alice.post("/api/tasks", json={"title": "t", "reminders": reminders})
    assert_error(response, 400, "VALIDATION_ERROR")
    made = await alice.post(
        "/api/tasks", json={"title": "t", "reminders": reminders, "due_date": "2030-01-01"}
    )
    assert made.status_code == 201, made.text


@pytest.mark.parametrize("rule", RULES_OF_THE_PATTERN)
async def test_every_kind_of_rule_the_pattern_admits_is_taken(
    alice: httpx.AsyncClient, rule: str
) -> None:
    """Given a due date the rule follows (the horizon is ten years; the pattern's INTERVAL
    stops at 9, so a yearly rule stays within it)."""
    due_dates = ["1900-01-01T00:00:00Z", "2026-03-02T09:00:00+02:00"]
    if "UNTIL=1900" in rule:  # it ends before 2026: no occurrence after that due date (400)
        due_dates = due_dates[:1]
    for due_at in due_dates:
        task = await create_task(alice, due_at=due_at, recurrence=rule)
        response = await alice.put(
            f"/api/tasks/{task['id']}", json={"recurrence": rule, "due_at": due_at}
        )
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("rule", SUB_DAILY_RULES)
async def test_a_sub_daily_rule_is_refused_saying_so(alice: httpx.AsyncClient, rule: str) -> None:
    response = await alice.post(
        "/api/tasks", json={"title": "t", "due_at": "2026-03-02T09:00:00Z", "recurrence": rule}
    )
    [detail] = assert_error(response, 400, "VALIDATION_ERROR")["details"]
    assert detail["field"] == "recurrence"
    assert "at most once a day" in detail["message"]


async def test_a_recurrence_with_a_null_due_at_is_refused_on_create_and_update(
    alice: httpx.AsyncClient,
) -> None:
    """What the document's if/then says: with a recurrence, due_at is not null."""
    both = {"recurrence": "FREQ=DAILY", "due_at": None}
    response = await alice.post("/api/tasks", json={"title": "t", **both})
    assert_error(response, 400, "VALIDATION_ERROR")
    task = await create_task(alice, due_at="2026-03-02T09:00:00Z")
    response = await alice.patch(f"/api/tasks/{task['id']}", json=both)
    assert_error(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("email", ["a\x85b@example.com", "ada@exa\x7fmple.com", "ada@ex.c\x9fm"])
async def test_an_email_with_a_control_character_is_refused_and_outside_the_pattern(
    anonymous: httpx.AsyncClient, schema: dict[str, Any], email: str
) -> None:
    register = schema["components"]["schemas"]["Register"]["properties"]["email"]
    assert not re.fullmatch(register["pattern"], email)
    response = await anonymous.post(
        "/api/auth/register", json={"email": email, "password": "a fine passphrase"}
    )
    assert_error(response, 400, "VALIDATION_ERROR")


# --- What the service checks, the document says -------------------------------------------------

# pydantic's names for bounds, which it writes into the document where it cannot turn them into
# JSON Schema's (`minimum`, `maximum`): a client generated from it knows no bound.
PYDANTIC_BOUNDS = {"ge", "le", "gt", "lt", "min_length", "max_length", "multiple_of"}
# What a parameter's value is held to, in the document.
CONSTRAINTS = {"enum", "const", "pattern", "format", "maxLength", "minimum", "maximum"}
# A value no parameter takes unless its schema says nothing of its values.
UNHEARD_OF = "zz-no-such-value"


def schema_objects(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("type"), str):
            found.append(node)
        for value in node.values():
            found += schema_objects(value)
    elif isinstance(node, list):
        for value in node:
            found += schema_objects(value)
    return found


def test_every_bound_is_written_in_json_schema_words(schema: dict[str, Any]) -> None:
    leaked = [s for s in schema_objects(schema) if PYDANTIC_BOUNDS & set(s)]
    assert leaked == []


def _free_text(parameter: dict[str, Any]) -> bool:
    """A string parameter whose schema holds its value to nothing."""
    options = [o for o in parameter["schema"].get("anyOf", [parameter["schema"]])]
    options = [o for o in options if o.get("type") != "null"]
    return all(o.get("type") == "string" and not CONSTRAINTS & set(o) for o in options)


def _example(parameter: dict[str, Any]) -> Any:
    if "example" in parameter:
        return parameter["example"]
    values = parameter["schema"].get("enum") or parameter["schema"].get("examples")
    assert values, parameter
    return values[0]


async def test_no_query_parameter_is_checked_beyond_what_the_document_says(
    schema: dict[str, Any], alice: httpx.AsyncClient
) -> None:
    """Each route without an id in its path, called with its required parameters only, does
    not refuse a parameter it left out (it would be required); and a parameter documented as
    any text is not refused for a value nobody expects (its enum or pattern is missing)."""
    tried = 0
    for method, path, operation in operations(schema):
        content = operation.get("requestBody", {}).get("content", {})
        streams = "text/event-stream" in operation["responses"].get("200", {}).get("content", {})
        if "{" in path or not path.startswith("/api/") or streams:
            continue
        if method != "get" and "text/csv" not in content:  # a file body: one anybody can send
            continue
        query = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        required = {p["name"]: _example(p) for p in query if p.get("required")}
        body = (
            "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE\n"
        )
        attempts = [required] + [
            {**required, p["name"]: UNHEARD_OF} for p in query if _free_text(p)
        ]
        for params in attempts:
            response = await alice.request(
                method.upper(),
                path,
                params=params,
                content=body if method != "get" else None,
                headers={"Content-Type": "text/csv"} if method != "get" else {},
            )
            if response.status_code == 400:
                refused = {d["field"] for d in response.json().get("details") or []}
                assert not refused & {p["name"] for p in query}, (method, path, params, refused)
            tried += 1
    assert tried >= 10


# --- 405: the Allow header is the document's methods ---------------------------------------------


def documented_methods(schema: dict[str, Any], path: str) -> str:
    """What Allow says of `path`: the document's methods for it, and HEAD wherever GET is."""
    methods = {method.upper() for method in schema["paths"][path] if method in HTTP_METHODS}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


async def test_every_405_allows_what_the_document_lists_for_the_path(
    schema: dict[str, Any], alice: httpx.AsyncClient
) -> None:
    """OPTIONS (no preflight) on every path of the document; a path written out whole
    (/api/auth/passkeys/login) is not the template beside it (/api/auth/passkeys/{id})."""
    refused = 0
    for path in schema["paths"]:
        concrete = re.sub(r"\{[^}]+\}", UUID_EXAMPLE, path)
        response = await alice.options(concrete)
        if response.status_code != 405:
            continue
        assert_error(response, 405, "METHOD_NOT_ALLOWED")
        assert response.headers["allow"] == documented_methods(schema, path), path
        refused += 1
    assert refused >= 50


@pytest.mark.parametrize("path", ["/api/auth/passkeys/login", "/api/auth/passkeys/register"])
@pytest.mark.parametrize("method", ["OPTIONS", "GET", "PUT", "PATCH"])
async def test_a_passkey_ceremony_allows_post_only(
    anonymous: httpx.AsyncClient, path: str, method: str
) -> None:
    response = await anonymous.request(method, path)
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"


# --- Bodies: what the document admits, the service takes -----------------------------------------

# (method, path, the body's model, body, whether it is taken)
BODIES = [
    ("PATCH", "/api/notifications/settings", "SettingsUpdate", {"email": "daily"}, True),
    (
        "PATCH",
        "/api/notifications/settings",
        "SettingsUpdate",
        {"kinds": {"assigned": False}},
        True,
    ),
    ("PATCH", "/api/notifications/settings", "SettingsUpdate", {"kinds": {}}, True),
    ("PATCH", "/api/notifications/settings", "SettingsUpdate", {"email": None}, False),
    ("PATCH", "/api/notifications/settings", "SettingsUpdate", {"kinds": None}, False),
    ("PATCH", "/api/notifications/settings", "SettingsUpdate", {"kinds": {"assigned": 0}}, False),
    ("PATCH", "/api/notifications/settings", "SettingsUpdate", {"kinds": {"mentioned": 1}}, False),
    ("PATCH", "/api/notifications/settings", "SettingsUpdate", {}, False),
    ("POST", "/api/notifications/read", "MarkRead", {"all": True}, True),
    ("POST", "/api/notifications/read", "MarkRead", {"ids": [UUID_EXAMPLE]}, True),
    ("POST", "/api/notifications/read", "MarkRead", {"ids": [], "all": None}, True),
    ("POST", "/api/notifications/read", "MarkRead", {"ids": None, "all": True}, True),
    ("POST", "/api/notifications/read", "MarkRead", {}, False),
    ("POST", "/api/notifications/read", "MarkRead", {"ids": [], "all": True}, False),
    ("POST", "/api/notifications/read", "MarkRead", {"ids": None, "all": None}, False),
    # A made-up mfa_token: a body that is taken gets 401 INVALID_TOKEN, not 400.
    ("POST", "/api/auth/login/2fa", "SecondFactor", {"mfa_token": "t", "code": "492039"}, True),
    (
        "POST",
        "/api/auth/login/2fa",
        "SecondFactor",
        {"mfa_token": "t", "code": None, "recovery_code": "k7mwp-2hx9a"},
        True,
    ),
    (
        "POST",
        "/api/auth/login/2fa",
        "SecondFactor",
        {"mfa_token": "t", "code": "492039", "recovery_code": "k7mwp-2hx9a"},
        False,
    ),
    ("POST", "/api/auth/login/2fa", "SecondFactor", {"mfa_token": "t"}, False),
    ("POST", "/api/auth/login/2fa", "SecondFactor", {"mfa_token": "t", "code": None}, False),
]


@pytest.mark.parametrize(
    ("method", "path", "model", "body", "taken"),
    BODIES,
    ids=[f"{path} {json.dumps(body)}" for _, path, _, body, _ in BODIES],
)
async def test_a_body_is_taken_exactly_when_the_document_admits_it(
    schema: dict[str, Any],
    alice: httpx.AsyncClient,
    method: str,
    path: str,
    model: str,
    body: dict[str, Any],
    taken: bool,
) -> None:
    operation = schema["paths"][path][method.lower()]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == f"#/components/schemas/{model}"
    document = jsonschema.Draft202012Validator({"$ref": ref, "components": schema["components"]})

    response = await alice.request(method, path, json=body)

    assert document.is_valid(body) is taken, body
    if taken:
        assert response.status_code != 400, response.text
    else:
        assert_error(response, 400, "VALIDATION_ERROR")


def test_what_cannot_be_cleared_is_not_nullable_and_an_empty_change_is_refused(
    schema: dict[str, Any],
) -> None:
    components = schema["components"]["schemas"]
    settings = components["SettingsUpdate"]
    assert {name for name, field in settings["properties"].items() if nullable(field)} == set()
    assert settings["properties"]["kinds"]["additionalProperties"] == {"type": "boolean"}
    for model in ("SettingsUpdate", "MarkRead"):
        assert components[model]["minProperties"] == 1, model
