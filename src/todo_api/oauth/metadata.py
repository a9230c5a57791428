"""What names MCP's authorization without serving it: the protected resource metadata (RFC
9728) of /mcp, the authorization server's metadata (RFC 8414) when it is this service, the
paths that answer any origin, and what /mcp's challenges name. Nothing of the MCP SDK: the
routes that serve OAuth (todo_api.oauth.router, on the SDK's handlers) are loaded only where
this service is the authorization server."""

from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, request_response
from starlette.types import ASGIApp

from todo_api.auth import app_tokens
from todo_api.config import Settings
from todo_api.kit.routes import LabelledRoute

RESOURCE_METADATA = "/.well-known/oauth-protected-resource"
SERVER_METADATA = "/.well-known/oauth-authorization-server"
OPENID_CONFIGURATION = "/.well-known/openid-configuration"
# Paths that answer any origin with their own CORS headers (the app's CORS is for its frontend).
OPEN_PATHS = frozenset(
    {
        RESOURCE_METADATA,
        RESOURCE_METADATA + "/mcp",
        SERVER_METADATA,
        OPENID_CONFIGURATION,
        "/oauth/token",
        "/oauth/register",
        "/oauth/revoke",
    }
)
GRANT_TYPES = ["authorization_code", "refresh_token"]


def mcp_challenge(settings: Settings) -> str | None:
    """What /mcp's challenges name beside their error, for an OAuth client (RFC 9728 §5.1, MCP's
    scope challenge): the scopes to ask for and the protected resource metadata, where a
    client starts its sign-in. None: no authorization server to name."""
    if settings.mcp_authorization_server is None:
        return None
    scopes = " ".join(app_tokens.SCOPES)
    return f'scope="{scopes}", resource_metadata="{settings.public_url}{RESOURCE_METADATA}/mcp"'


def open_to_all(app: ASGIApp, methods: list[str]) -> ASGIApp:
    return CORSMiddleware(
        app, allow_origins=["*"], allow_methods=methods, allow_headers=["*"], max_age=86400
    )


def _document(body: dict[str, Any]) -> ASGIApp:
    async def endpoint(_request: Any) -> Response:
        return JSONResponse(body, headers={"Cache-Control": "public, max-age=3600"})

    return open_to_all(request_response(endpoint), ["GET"])


def routes(settings: Settings) -> list[BaseRoute]:
    """The metadata routes (when there is an issuer to name: the server's own only when it is
    this service); none otherwise, so that each is a 404."""
    issuer = settings.mcp_authorization_server
    found: list[BaseRoute] = []
    if issuer is None:
        return found
    resource = {
        "resource": f"{settings.public_url}/mcp",
        "authorization_servers": [issuer],
        "bearer_methods_supported": ["header"],
        "scopes_supported": app_tokens.SCOPES,
        "resource_name": settings.app_name,
    }
    for path in (RESOURCE_METADATA, RESOURCE_METADATA + "/mcp"):
        found.append(LabelledRoute(path, _document(resource), methods=["GET", "OPTIONS"]))
    if not settings.oauth_server_enabled:
        return found
    server = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "registration_endpoint": f"{issuer}/oauth/register",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "scopes_supported": app_tokens.SCOPES,
        "response_types_supported": ["code"],
        "grant_types_supported": GRANT_TYPES,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [
            "none",
            "client_secret_post",
            "client_secret_basic",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "none",
            "client_secret_post",
            "client_secret_basic",
        ],
        "client_id_metadata_document_supported": True,
    }
    for path in (SERVER_METADATA, OPENID_CONFIGURATION):
        found.append(LabelledRoute(path, _document(server), methods=["GET", "OPTIONS"]))
    for path in (SERVER_METADATA, OPENID_CONFIGURATION):
        found.append(LabelledRoute(path, _document(server), methods=["GET", "OPTIONS"]))
    return found
