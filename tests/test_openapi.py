"""The published OpenAPI document: error responses, no 422, the bearer scheme; and /docs."""

from typing import Any

import httpx
import pytest

from tests.support import CONTRACT_CODES, ERROR_FIELDS, operations

ERROR_BODY_REF = "#/components/schemas/ErrorBody"
# The auth routes that create a session or stand in for a password need no bearer token
# (CONTRACT.md, Conventions).
SESSION_ROUTES = {
    f"/api/auth/{name}"
    for name in (
        "register",
        "login",
        "token",
        "refresh",
        "login/2fa",
        "password/forgot",
        "password/reset",
        "email/verify",
        "email/resend",
        "passkeys/login/options",
        "passkeys/login",
        "oidc/start",
        "oidc/callback",
        "oidc/exchange",
    )
}
# The routes that take a signed-in session's token only, not a personal one.
SESSION_ONLY_PREFIXES = (
    "/api/tokens",
    "/api/auth/passkeys",
    "/api/auth/password/change",
    "/api/auth/sessions",
    "/api/auth/logout-all",
    "/api/auth/email/change",
    "/api/auth/2fa/",
)
# The seed's five task operations and the error statuses each must document.
TASK_OPERATIONS = {
    ("get", "/api/tasks"): {"401", "500", "503"},
    ("post", "/api/tasks"): {"400", "401", "500", "503"},
    ("get", "/api/tasks/{task_id}"): {"401", "404", "500", "503"},
    ("put", "/api/tasks/{task_id}"): {"400", "401", "404", "500", "503"},
    ("delete", "/api/tasks/{task_id}"): {"401", "404", "500", "503"},
}


def api_operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [op for op in operations(schema) if op[1].startswith("/api/")]


def documents_error_body(operation: dict[str, Any], status: str) -> bool:
    response = operation["responses"].get(status)
    if response is None:
        return False
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref") == ERROR_BODY_REF)


def bearer_scheme_names(schema: dict[str, Any]) -> set[str]:
    schemes = schema.get("components", {}).get("securitySchemes", {})
    return {
        name
        for name, scheme in schemes.items()
        if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer"
    }


def test_seed_task_operations_are_published(schema: dict[str, Any]) -> None:
    published = {(method, path) for method, path, _ in operations(schema)}
    assert set(TASK_OPERATIONS) <= published


@pytest.mark.parametrize(
    ("method", "path"), list(TASK_OPERATIONS), ids=[f"{m} {p}" for m, p in TASK_OPERATIONS]
)
def test_task_operation_documents_its_errors_with_the_error_body(
    schema: dict[str, Any], method: str, path: str
) -> None:
    operation = schema["paths"][path][method]
    for status in TASK_OPERATIONS[method, path]:
        assert documents_error_body(operation, status), status


def test_every_api_operation_documents_500_and_503(schema: dict[str, Any]) -> None:
    for method, path, operation in api_operations(schema):
        for status in ("500", "503"):
            assert documents_error_body(operation, status), (method, path, status)


def test_every_api_operation_with_input_documents_400(schema: dict[str, Any]) -> None:
    for method, path, operation in api_operations(schema):
        takes_input = "requestBody" in operation or any(
            parameter["in"] in {"query", "header"} for parameter in operation.get("parameters", [])
        )
        if takes_input:
            assert documents_error_body(operation, "400"), (method, path)


def test_every_api_operation_on_an_item_documents_404(schema: dict[str, Any]) -> None:
    for method, path, operation in api_operations(schema):
        if any(parameter["in"] == "path" for parameter in operation.get("parameters", [])):
            assert documents_error_body(operation, "404"), (method, path)


def test_no_operation_documents_fastapis_default_422(schema: dict[str, Any]) -> None:
    """Validation errors are 400; a 422 is documented only where an Idempotency-Key can be
    reused with another request, in the error body."""
    for method, path, operation in operations(schema):
        if "422" in operation["responses"]:
            assert "IDEMPOTENCY_KEY_REUSED" in operation["responses"]["422"]["description"]
            assert documents_error_body(operation, "422"), (method, path)
    schemas = schema["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas


# The codes each error status carries (CONTRACT.md, Errors).
CODES_BY_STATUS = {
    "400": {"VALIDATION_ERROR", "INVALID_REQUEST"},
    "401": {"UNAUTHORIZED", "INVALID_TOKEN", "TOKEN_EXPIRED"},
    "403": {"FORBIDDEN"},
    "404": {"NOT_FOUND"},
    "405": {"METHOD_NOT_ALLOWED"},
    "409": {"CONFLICT"},
    "410": {"SYNC_TOKEN_EXPIRED"},
    "412": {"PRECONDITION_FAILED"},
    "413": {"PAYLOAD_TOO_LARGE"},
    "415": {"UNSUPPORTED_MEDIA_TYPE"},
    "416": {"RANGE_NOT_SATISFIABLE"},
    "422": {"IDEMPOTENCY_KEY_REUSED"},
    "429": {"RATE_LIMITED"},
    "500": {"INTERNAL_ERROR"},
    "503": {"DATABASE_ERROR"},
}


def test_each_error_status_shows_examples_of_its_own_codes(schema: dict[str, Any]) -> None:
    shown = 0
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            if not documents_error_body(operation, status):
                continue
            examples = response["content"]["application/json"].get("examples", {})
            where = (method, path, status)
            assert {example["value"]["code"] for example in examples.values()} == (
                CODES_BY_STATUS[status]
            ), where
            for example in examples.values():
                assert set(example["value"]) == ERROR_FIELDS, where
                assert len(example["value"]["error"].split()) >= 2, where  # a sentence
            shown += 1
    assert shown > 0


def test_bearer_security_schemes_are_present(schema: dict[str, Any]) -> None:
    """A session's JWT, and personal access tokens; Basic (a personal token as the password)
    for /dav."""
    schemes = schema["components"]["securitySchemes"]
    formats = {schemes[name].get("bearerFormat") for name in bearer_scheme_names(schema)}
    assert formats == {"JWT", "todo_pat_"}
    assert {"type": "http", "scheme": "basic"}.items() <= schemes["DavBasic"].items()


def test_personal_tokens_are_accepted_everywhere_but_where_tokens_are_managed(
    schema: dict[str, Any],
) -> None:
    for method, path, operation in api_operations(schema):
        if path in SESSION_ROUTES:
            continue
        required = {name for entry in operation.get("security", []) for name in entry}
        managed = path.startswith(SESSION_ONLY_PREFIXES)
        assert ("PersonalToken" in required) != managed, (method, path)


def test_every_protected_api_operation_requires_the_bearer_token_and_documents_401(
    schema: dict[str, Any],
) -> None:
    names = bearer_scheme_names(schema)
    for method, path, operation in api_operations(schema):
        if path in SESSION_ROUTES:
            continue
        required = {name for entry in operation.get("security", []) for name in entry}
        assert required & names, (method, path)
        assert documents_error_body(operation, "401"), (method, path)


def test_error_body_schema_matches_the_contract(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    error_body = components["ErrorBody"]
    assert set(error_body["properties"]) == ERROR_FIELDS
    assert set(error_body["required"]) == {"error", "code"}
    assert set(components["ErrorCode"]["enum"]) >= CONTRACT_CODES


def test_readiness_documents_503_and_liveness_does_not(schema: dict[str, Any]) -> None:
    assert documents_error_body(schema["paths"]["/ready"]["get"], "503")
    assert "503" not in schema["paths"]["/health"]["get"]["responses"]


async def test_docs_page_is_html(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


def test_the_fields_of_sharing_show_examples(schema: dict[str, Any]) -> None:
    schemas = schema["components"]["schemas"]
    for model, fields in {
        "ListRead": ("owner_id", "role", "member_count"),
        "TaskRead": ("created_by", "completed_by", "assignee_id"),
        "TaskCreate": ("assignee_id",),
        "OwnerChange": ("user_id",),
    }.items():
        for field in fields:
            field_schema = schemas[model]["properties"][field]
            # On the field, or on its non-null branch (`anyOf`) for an optional input.
            branches = [field_schema, *field_schema.get("anyOf", [])]
            assert any(branch.get("examples") for branch in branches), (model, field)
