"""Who may ask for a user's consent: a client registered at /oauth/register (RFC 7591), or one
whose `client_id` is the https URL of its own metadata document (OAuth Client ID Metadata
Documents), fetched under the webhook target rules (todo_api.kit.targets: public addresses
only, unless WEBHOOK_ALLOW_PRIVATE_URLS), at most `MAX_DOCUMENT_BYTES`, and kept at most an
hour (less when its Cache-Control says so).

Redirect URIs are https, or http on a loopback host; a loopback one matches at authorization
with any port (RFC 8252 §7.3), every other one exactly.
"""

import asyncio
import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata
from pydantic import ValidationError

from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.guarded import GuardedTransport
from todo_api.kit.targets import url_problem
from todo_api.oauth import store
from todo_api.tables.oauth import CLIENT_NAME_MAX_LENGTH

log = logging.getLogger("todo_api")

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_DOCUMENT_BYTES = 5 * 1024
MAX_DOCUMENT_SECONDS = 3600.0
FETCH_TIMEOUT_SECONDS = 5.0
DOCUMENTS_MAX = 1000
# What one registration may store (RFC 7591 leaves it to the server): anyone may register.
MAX_REGISTRATION_BYTES = 16 * 1024
MAX_REDIRECT_URIS = 10
MAX_REDIRECT_URI_LENGTH = 2000
METADATA = "invalid_client_metadata"
_MAX_AGE = re.compile(r"max-age=(\d{1,9})")


def redirect_uri_problem(uri: str) -> str | None:
    """Why a redirect URI may not be registered, or asked for at authorization (None: it may).
    The text is checked as sent, before any parser normalises it: an upper-case scheme, a
    userinfo or port 0 would otherwise pass as another URI."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.fragment or "#" in uri or not parts.hostname:
        return "must be an absolute URL without a fragment"
    if "@" in parts.netloc:
        return "must not carry a user name or password"
    if port == 0:
        return "must have a port from 1 to 65535"
    scheme = uri.split(":", 1)[0]
    if scheme != scheme.lower():
        return "must have a lower-case scheme"
    if scheme == "https" or (scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        return None
    return "must be https, or http on a loopback host (localhost, 127.0.0.1, [::1])"


def redirect_uri_matches(registered: str, given: str) -> bool:
    """Whether `given` is `registered`, any port allowed for a loopback one. `given` keeps the
    rules of registration (`redirect_uri_problem`)."""
    if redirect_uri_problem(given) is not None:
        return False
    if registered == given:
        return True
    a, b = urlsplit(registered), urlsplit(given)
    return (
        a.scheme == b.scheme == "http"
        and a.hostname in LOOPBACK_HOSTS
        and a.hostname == b.hostname
        and (a.path or "/") == (b.path or "/")
        and a.query == b.query
    )


def registration_problem(document: dict[str, Any]) -> tuple[str, str] | None:
    """What RFC 7591 error a client's metadata gets before its fields are parsed (None: none):
    the limits of what one anonymous registration may store, then the redirect URIs' rules,
    on the text as sent."""
    name = document.get("client_name")
    if isinstance(name, str) and len(name) > CLIENT_NAME_MAX_LENGTH:
        return METADATA, f"client_name must be at most {CLIENT_NAME_MAX_LENGTH} characters"
    uris = document.get("redirect_uris")
    if not isinstance(uris, list):
        return None  # the metadata model says what is missing or wrong
    if len(uris) > MAX_REDIRECT_URIS:
        return METADATA, f"redirect_uris must be at most {MAX_REDIRECT_URIS}"
    for uri in uris:
        if not isinstance(uri, str):
            return None
        if len(uri) > MAX_REDIRECT_URI_LENGTH:
            return (
                METADATA,
                f"each redirect URI must be at most {MAX_REDIRECT_URI_LENGTH} characters",
            )
        problem = redirect_uri_problem(uri)
        if problem is not None:
            return "invalid_redirect_uri", f"{uri} {problem}"
    return None


def is_document_url(client_id: str, settings: Settings) -> bool:
    schemes = ("https://", "http://") if settings.webhook_allow_private_urls else ("https://",)
    return client_id.startswith(schemes)


class Clients:
    """Registered clients from the database, and metadata documents from their URLs."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings
        self._documents: dict[str, tuple[OAuthClientInformationFull, float]] = {}
        self._fetching: dict[str, asyncio.Future[tuple[OAuthClientInformationFull, float]]] = {}
        self._http: httpx.AsyncClient | None = None

    async def get(self, client_id: str) -> OAuthClientInformationFull | None:
        if is_document_url(client_id, self._settings):
            return await self._document(client_id)
        async with self._db.connection() as conn:
            found = await store.load_client(conn, client_id)
        if found is None:
            return None
        secret_hash, document = found
        return OAuthClientInformationFull.model_validate(
            {**document, "client_id": client_id, "client_secret": secret_hash}
        )

    async def _document(self, url: str) -> OAuthClientInformationFull | None:
        kept = self._documents.get(url)
        if kept is not None and time.monotonic() < kept[1]:
            return kept[0]
        fetching = self._fetching.get(url)
        if fetching is None:
            fetching = self._fetching[url] = asyncio.ensure_future(self._fetch(url))
            fetching.add_done_callback(lambda _: self._fetching.pop(url, None))
        try:
            client, good_until = await asyncio.shield(fetching)
        except (httpx.HTTPError, TimeoutError, ValueError, ValidationError) as exc:
            log.warning("OAuth client metadata document not usable: %s", type(exc).__name__)
            return None
        if len(self._documents) >= DOCUMENTS_MAX:
            del self._documents[next(iter(self._documents))]
        self._documents[url] = (client, good_until)
        return client

    async def _fetch(self, url: str) -> tuple[OAuthClientInformationFull, float]:
        if url_problem(url) is not None:
            raise ValueError("not a URL")
        if self._http is None:
            self._http = httpx.AsyncClient(
                transport=GuardedTransport(
                    allow_private=self._settings.webhook_allow_private_urls, keep_alive=0
                ),
                follow_redirects=False,
                trust_env=False,
            )
        body = bytearray()
        async with asyncio.timeout(FETCH_TIMEOUT_SECONDS):
            async with self._http.stream("GET", url, headers={"Accept": "application/json"}) as r:
                if r.status_code != 200:
                    raise ValueError(f"HTTP {r.status_code}")
                async for chunk in r.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise ValueError("too large")
                max_age = _MAX_AGE.search(r.headers.get("cache-control", ""))
        document: Any = orjson.loads(bytes(body))
        if not isinstance(document, dict) or document.get("client_id") != url:
            raise ValueError("its client_id is not its URL")
        metadata = OAuthClientMetadata.model_validate(
            {k: v for k, v in document.items() if k not in ("client_id", "client_secret")}
        )
        if registration_problem(document) is not None:
            raise ValueError("its metadata is not allowed")
        if metadata.token_endpoint_auth_method not in (None, "none"):
            raise ValueError("a metadata document's client has no secret")
        client = OAuthClientInformationFull.model_validate(
            {
                **metadata.model_dump(exclude_none=True),
                "client_id": url,
                "token_endpoint_auth_method": "none",
            }
        )
        seconds = MAX_DOCUMENT_SECONDS
        if max_age is not None:
            seconds = min(seconds, float(max_age.group(1)))
        return client, time.monotonic() + seconds

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
