"""The MCP SDK's authorization-server interface (`mcp.server.auth.provider`) over this
service's rows (todo_api.oauth.store): the SDK's handlers answer /oauth/token,
/oauth/register and /oauth/revoke (the OAuth checks and error shapes are theirs), and call
this for what is stored. The sign-in and consent page is this service's own
(todo_api.oauth.pages): the SDK's authorize handler redirects a request it refuses, where
this service shows an error page.

A code or refresh token used a second time revokes its whole grant (its family): the first
use may have been a thief's."""

import base64
import hmac
import time
import uuid
from datetime import timedelta
from urllib.parse import unquote_plus

from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    TokenError,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from starlette.requests import Request

from todo_api.auth import app_tokens
from todo_api.auth.hashed_tokens import KnownTokens, hash_token
from todo_api.auth.users import email_verified
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.ids import utcnow
from todo_api.oauth import store
from todo_api.oauth.clients import Clients


class Code(AuthorizationCode):
    grant_id: uuid.UUID


class Refresh(RefreshToken):
    token_id: uuid.UUID
    grant_id: uuid.UUID
    user_id: uuid.UUID


class Access(AccessToken):
    grant_id: uuid.UUID


def _timestamp(value: object) -> int:
    return int(value.timestamp())  # type: ignore[attr-defined]


class Provider:
    """`OAuthAuthorizationServerProvider` for the SDK's handlers."""

    def __init__(
        self, db: Database, settings: Settings, clients: Clients, known: KnownTokens
    ) -> None:
        self._db = db
        self._clients = clients
        self._known = known
        self._refresh_lifetime = timedelta(days=settings.refresh_token_days)
        self._email_required = settings.email_verification_mode == "required"

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return await self._clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        """Store a client the SDK's handler took; its metadata as sent passed
        `registration_problem` first (todo_api.oauth.router)."""
        secret = client_info.client_secret
        document = client_info.model_dump(
            mode="json",
            exclude_none=True,
            exclude={"client_id", "client_secret"},
        )
        async with self._db.connection() as conn:
            await store.save_client(conn, client_info.client_id or "", secret, document)

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        raise NotImplementedError  # the page (todo_api.oauth.pages) authorizes

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> Code | None:
        async with self._db.connection() as conn:
            row = await store.find_code(conn, authorization_code)
        if row is None or row["client_id"] != client.client_id:
            return None
        grant_id = uuid.UUID(str(row["id"]))
        if row["exchanged_at"] is not None:
            await store.revoke_grant(self._db, self._known, grant_id)
            return None
        return Code(
            code=authorization_code,
            scopes=row["scope"].split(),
            expires_at=row["code_expires_at"].timestamp(),
            client_id=row["client_id"],
            code_challenge=row["code_challenge"],
            redirect_uri=row["redirect_uri"],
            redirect_uri_provided_explicitly=row["redirect_uri_explicit"],
            resource=row["resource"],
            subject=str(row["user_id"]),
            grant_id=grant_id,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: Code
    ) -> OAuthToken:
        await self._may_use(uuid.UUID(authorization_code.subject or ""))
        scope = " ".join(authorization_code.scopes)
        async with self._db.connection() as conn:
            issued = await store.exchange_code(
                conn, authorization_code.grant_id, scope, self._refresh_lifetime
            )
        if issued is None:  # another exchange of the same code got there first
            await store.revoke_grant(self._db, self._known, authorization_code.grant_id)
            raise TokenError("invalid_grant", "authorization code does not exist")
        return _answer(issued)

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> Refresh | None:
        async with self._db.connection() as conn:
            row = await store.find_refresh(conn, refresh_token)
        if row is None or row["client_id"] != client.client_id:
            return None
        grant_id = uuid.UUID(str(row["grant_id"]))
        if row["used_at"] is not None:
            await store.revoke_grant(self._db, self._known, grant_id)
            return None
        return Refresh(
            token=refresh_token,
            client_id=row["client_id"],
            scopes=row["scope"].split(),
            expires_at=_timestamp(row["expires_at"]),
            token_id=uuid.UUID(str(row["id"])),
            grant_id=grant_id,
            user_id=uuid.UUID(str(row["user_id"])),
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: Refresh, scopes: list[str]
    ) -> OAuthToken:
        await self._may_use(refresh_token.user_id)
        async with self._db.connection() as conn:
            issued = await store.rotate(
                conn,
                refresh_token.token_id,
                refresh_token.grant_id,
                " ".join(scopes),
                self._refresh_lifetime,
            )
        if issued is None:  # used at the same moment by another request: both are refused
            await store.revoke_grant(self._db, self._known, refresh_token.grant_id)
            raise TokenError("invalid_grant", "refresh token does not exist")
        return _answer(issued)

    async def _may_use(self, user_id: uuid.UUID) -> None:
        """While EMAIL_VERIFICATION=required an unconfirmed account's grant issues nothing (and
        its refresh token is not used up, so it works again once the email is confirmed)."""
        if self._email_required:
            async with self._db.connection() as conn:
                if not await email_verified(conn, user_id):
                    raise TokenError("invalid_grant", "the account's email is not confirmed")

    async def load_access_token(self, token: str) -> Access | None:
        async with self._db.connection() as conn:
            row = await app_tokens.find_access(conn, token)
        if row is None or row["expires_at"] <= utcnow():
            return None
        return Access(
            token=token,
            client_id=row["client_id"],
            scopes=row["scope"].split(),
            expires_at=_timestamp(row["expires_at"]),
            subject=str(row["user_id"]),
            grant_id=uuid.UUID(str(row["grant_id"])),
        )

    async def revoke_token(self, token: Access | Refresh) -> None:
        """Revoking either token of a grant revokes the grant (RFC 7009 §2.1 allows it)."""
        await store.revoke_grant(self._db, self._known, token.grant_id)


def _answer(issued: store.Issued) -> OAuthToken:
    return OAuthToken(
        access_token=issued.access_token,
        token_type="Bearer",  # noqa: S106 - the token type, no secret
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
        scope=issued.scope,
    )


def basic_credentials(header: str) -> tuple[str, str] | None:
    """The client id and secret of an `Authorization: Basic` header (RFC 6749 §2.3.1: each
    form-urlencoded, then base64); None for another scheme or none. ValueError when it is not
    one."""
    if header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise ValueError("Invalid Basic authentication header") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise ValueError("Invalid Basic authentication header")
    return unquote_plus(client_id), unquote_plus(secret)


class HashedSecretAuthenticator(ClientAuthenticator):
    """The SDK's client authentication, for secrets kept as their hash: the client's record
    carries the SHA-256 of its secret (`client_secret`), which the presented secret's hash is
    compared with, in constant time."""

    async def authenticate_request(self, request: Request) -> OAuthClientInformationFull:
        form = await request.form()
        client_id = form.get("client_id")
        try:
            basic = basic_credentials(request.headers.get("authorization", ""))
        except ValueError as exc:
            raise AuthenticationError(str(exc)) from None
        basic_id, presented = basic or (None, None)
        client_id = client_id or basic_id
        if not isinstance(client_id, str) or not client_id:
            raise AuthenticationError("Missing client_id")
        if basic_id is not None and basic_id != client_id:
            raise AuthenticationError("Client ID mismatch in Basic auth")
        client = await self.provider.get_client(client_id)
        if client is None:
            raise AuthenticationError("Invalid client_id")
        method = client.token_endpoint_auth_method
        if method == "none":
            return client
        if method == "client_secret_post":
            posted = form.get("client_secret")
            presented = posted if isinstance(posted, str) else None
        elif method != "client_secret_basic":
            raise AuthenticationError("Unsupported client authentication method")
        if not presented or not client.client_secret:
            raise AuthenticationError("Client secret is required")
        if not hmac.compare_digest(hash_token(presented), client.client_secret):
            raise AuthenticationError("Invalid client_secret")
        if client.client_secret_expires_at and client.client_secret_expires_at < time.time():
            raise AuthenticationError("Client secret has expired")
        return client
