"""Signing in with an OpenID Connect provider (OIDC_ISSUER): the browser's trip there and back.

Authlib's client does the protocol: discovery from the issuer's metadata
(`{OIDC_ISSUER}/.well-known/openid-configuration`, whose `issuer` must be OIDC_ISSUER), the
authorization code flow with PKCE (S256), `state` and `nonce`, the code's exchange at the token
endpoint, and the ID token's checks (its signature by a key of the provider's JWKS, fetched
again for a key id it does not know; `iss`, `aud`, `nonce`, `exp`, `iat`, `azp`, `at_hash`).
Nothing of the protocol is written here.

What a sign-in under way needs between `start` and the callback (state, nonce, PKCE verifier,
where to send the browser at the end, an invitation) travels in a cookie of the browser that
started it, signed with the service's secret, for /api/auth/oidc only, for ten minutes: any
instance can finish it, and a callback in another browser (a sign-in forced on someone) has
no cookie to match its `state`.

Where the browser may be sent at the end: a URL on one of the frontend's origins
(FRONTEND_URL, the CORS origins) or on this service's own (PUBLIC_URL): anything else is
refused before the trip starts, so the service never redirects to a stranger's site.
"""

import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from todo_api.config import Settings
from todo_api.kit.signing import InvalidToken as BadSignature
from todo_api.kit.signing import Signer

log = logging.getLogger("todo_api")

SCOPE = "openid email profile"
FLOW_COOKIE = "todo_oidc_flow"
FLOW_PATH = "/api/auth/oidc"
FLOW_SECONDS = 600
TIMEOUT_SECONDS = 10.0
REDIRECT_MAX_LENGTH = 2000
# The provider's own `error` at the callback is passed on when it is one of OAuth's codes.
PROVIDER_ERRORS = frozenset(
    {
        "access_denied",
        "interaction_required",
        "login_required",
        "consent_required",
        "account_selection_required",
        "temporarily_unavailable",
        "server_error",
    }
)


class SentBack(Exception):
    """A sign-in that ends at the frontend with `error=<error>`."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(frozen=True, slots=True)
class Flow:
    """A sign-in under way, as its cookie carries it."""

    state: str
    nonce: str
    verifier: str
    redirect: str
    invitation: str | None


@dataclass(frozen=True, slots=True)
class Person:
    """Who the provider says signed in (from the checked ID token)."""

    subject: str
    email: Any
    email_verified: bool
    name: Any


def origin(url: str) -> str | None:
    """`scheme://host[:port]` of an absolute http(s) URL (its default port left out), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname or "@" in parts.netloc:
        return None
    default = 443 if parts.scheme == "https" else 80
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


class IdentityProvider:
    """The configured provider, and the signed cookie of each sign-in under way."""

    def __init__(self, settings: Settings) -> None:
        # Imported here, where OIDC_ISSUER is set: Authlib's client costs a `todo-api serve`
        # without it about 0.3 s of CPU at start-up.
        from authlib.integrations.starlette_client import (  # type: ignore[import-untyped]
            OAuth,
            OAuthError,
            StarletteOAuth2App,
        )
        from joserfc.errors import JoseError

        try:  # Authlib's client is built on httpx2 where it is installed (mcp brings it)
            from httpx2 import HTTPError as ClientError
        except ImportError:  # pragma: no cover
            from httpx import HTTPError as ClientError  # type: ignore[assignment]
        import httpx

        # What talking to the provider may raise: no answer, an HTTP error status, a body that
        # is not the JSON expected, and Authlib's OAuthError.
        failures = (httpx.HTTPError, ClientError, OSError, ValueError, KeyError, RuntimeError)
        self._failures: tuple[type[Exception], ...] = (OAuthError, *failures)
        self._refused = (JoseError, *self._failures)  # the ID token's checks raise JoseError too
        assert settings.oidc_issuer is not None
        assert settings.public_url is not None
        self.issuer = settings.oidc_issuer
        self.name = settings.oidc_name
        self.redirect_uri = f"{settings.public_url}{FLOW_PATH}/callback"
        self.secure = settings.public_url.startswith("https://")
        self._leeway = settings.jwt_leeway_seconds
        self._client_id = settings.oidc_client_id
        self._flows = Signer(settings.signing_secret(), "oidc-flow")
        allowed = [*settings.frontend_url, settings.public_url]
        self._origins = {found for url in allowed if (found := origin(url)) is not None}
        secret = settings.oidc_client_secret
        client_kwargs: dict[str, Any] = {
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "timeout": TIMEOUT_SECONDS,
            "trust_env": False,
        }
        if secret is None:  # a public client: PKCE alone
            client_kwargs["token_endpoint_auth_method"] = "none"
        client = OAuth().register(
            "oidc",
            client_id=self._client_id,
            client_secret=None if secret is None else secret.get_secret_value(),
            server_metadata_url=self.issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs=client_kwargs,
        )
        assert isinstance(client, StarletteOAuth2App)
        self._client = client

    def allowed_redirect(self, url: str) -> bool:
        return len(url) <= REDIRECT_MAX_LENGTH and origin(url) in self._origins

    async def _metadata(self) -> dict[str, Any]:
        """The provider's metadata (read once); its `issuer` must be OIDC_ISSUER exactly (OpenID
        Connect Discovery, section 4.3), else nothing it signs is believed."""
        metadata: dict[str, Any] = await self._client.load_server_metadata()
        if metadata.get("issuer") != self.issuer:
            self._client.server_metadata.clear()  # read again next time
            log.warning(
                "OIDC: the provider's metadata names the issuer %r, not OIDC_ISSUER %r",
                metadata.get("issuer"),
                self.issuer,
            )
            raise SentBack("provider_unavailable")
        return metadata

    async def start(self, redirect: str, invitation: str | None) -> tuple[str, str]:
        """The provider's authorization URL to send the browser to, and the flow's cookie."""
        try:
            await self._metadata()
            found = await self._client.create_authorization_url(self.redirect_uri)
        except self._failures as exc:
            log.warning("OIDC: the provider's metadata cannot be read: %s", type(exc).__name__)
            raise SentBack("provider_unavailable") from None
        flow = {
            "s": found["state"],
            "n": found["nonce"],
            "v": found["code_verifier"],
            "r": redirect,
            "i": invitation,
            "e": int(time.time()) + FLOW_SECONDS,
        }
        return str(found["url"]), self._flows.dumps(flow, "flow")

    def flow(self, cookie: str | None) -> Flow | None:
        """The sign-in under way in this browser, or None (none, altered or expired)."""
        if not cookie:
            return None
        try:
            value = self._flows.loads(cookie, "flow")
            if value["e"] < time.time():
                return None
            return Flow(value["s"], value["n"], value["v"], value["r"], value["i"])
        except (BadSignature, KeyError, TypeError):
            return None

    async def finish(self, flow: Flow, params: Mapping[str, str]) -> Person:
        """Who signed in, from the provider's answer at the callback: its `state` must be the
        flow's, its code is exchanged (with the PKCE verifier) and the ID token checked."""
        state = params.get("state") or ""
        if not hmac.compare_digest(state.encode(), flow.state.encode()):
            raise SentBack("invalid_state")
        answered_by = params.get("iss")  # RFC 9207: who answered, where the provider says it
        if answered_by is not None and answered_by != self.issuer:
            raise SentBack("provider_error")
        error = params.get("error")
        if error is not None:
            raise SentBack(error if error in PROVIDER_ERRORS else "provider_error")
        code = params.get("code")
        if not code:
            raise SentBack("provider_error")
        try:
            await self._metadata()
            token = await self._client.fetch_access_token(
                self.redirect_uri, code=code, code_verifier=flow.verifier
            )
        except self._failures as exc:
            log.warning("OIDC: the code's exchange failed: %s", exc)
            raise SentBack("provider_error") from None
        if "id_token" not in token:
            raise SentBack("invalid_id_token")
        try:
            claims = await self._client.parse_id_token(
                token,
                nonce=flow.nonce,
                claims_options={
                    "iss": {"essential": True, "value": self.issuer},
                    "aud": {"essential": True, "value": self._client_id},
                    "sub": {"essential": True},
                    "exp": {"essential": True},
                },
                leeway=self._leeway,
            )
        except self._refused as exc:
            log.warning("OIDC: the ID token was refused: %s", exc)
            raise SentBack("invalid_id_token") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not 0 < len(subject) <= 255:
            raise SentBack("invalid_id_token")
        if "email" not in claims:
            # A provider may keep the profile's claims to its userinfo endpoint (OpenID Connect
            # Core, 5.4): asked with the access token, believed for the same subject only.
            claims = await self._userinfo(token, subject) or claims
        verified = claims.get("email_verified")
        return Person(
            subject=subject,
            email=claims.get("email"),
            # A boolean, or the string some providers send.
            email_verified=verified is True or verified == "true",
            name=claims.get("name"),
        )

    async def _userinfo(self, token: dict[str, Any], subject: str) -> dict[str, Any] | None:
        try:
            if "userinfo_endpoint" not in await self._metadata():
                return None
            info: dict[str, Any] = dict(await self._client.userinfo(token=token))
        except self._failures as exc:
            log.warning("OIDC: the userinfo endpoint failed: %s", exc)
            raise SentBack("provider_error") from None
        return info if info.get("sub") == subject else None
