"""The authorization server's rows: clients, grants (a user's Allow for an app, with its
authorization code) and the access and refresh tokens a grant issues.

Every secret is kept as its SHA-256 (a client's secret, a code, a token): each is 256 random
bits, so a plain hash is enough and a copy of the database gives nobody a usable one. A grant
is the family of its tokens: revoking it (a code used twice, a refresh token used twice, the
user ending the connection, /oauth/revoke) deletes it and its tokens with it, and every process
forgets its access tokens as it forgets a revoked personal token (todo_api.auth.hashed_tokens's
KnownTokens and the live-updates channel). The access tokens' prefix, scopes and check on each
request are todo_api.auth.app_tokens, which who-is-calling (todo_api.auth.dependencies) uses.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, delete, func, insert, select, update

from todo_api.auth.app_tokens import ACCESS_PREFIX, revoke_grants
from todo_api.auth.hashed_tokens import KnownTokens, hash_token, new_secret
from todo_api.db import Connection, Database, Query, Row
from todo_api.kit.ids import new_id, utcnow
from todo_api.tables.oauth import oauth_clients, oauth_grants, oauth_tokens

REFRESH_PREFIX = "todo_mcr_"
CODE_PREFIX = "todo_mcc_"
CODE_LIFETIME = timedelta(minutes=10)
ACCESS_LIFETIME = timedelta(hours=1)
UNUSED_CLIENT_LIFETIME = timedelta(days=7)


# --- clients -------------------------------------------------------------------------------


async def save_client(
    conn: Connection, client_id: str, secret: str | None, document: dict[str, Any]
) -> None:
    await conn.execute(
        insert(oauth_clients).values(
            id=client_id,
            secret_hash=None if secret is None else hash_token(secret),
            document=orjson.dumps(document).decode(),
            created_at=utcnow(),
        )
    )


_CLIENT = Query(
    select(oauth_clients.c.secret_hash, oauth_clients.c.document).where(
        oauth_clients.c.id == bindparam("id")
    )
)


async def load_client(conn: Connection, client_id: str) -> tuple[str | None, dict[str, Any]] | None:
    """A registered client's secret hash and metadata; None for one never registered."""
    row = (await conn.execute(_CLIENT, {"id": client_id})).first()
    if row is None:
        return None
    return row["secret_hash"], orjson.loads(row["document"])


# --- grants and codes ----------------------------------------------------------------------


async def create_grant(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    client_id: str,
    client_name: str,
    scope: str,
    resource: str | None,
    code_challenge: str,
    redirect_uri: str,
    redirect_uri_explicit: bool,
) -> str:
    """A grant for the user's Allow, and its authorization code (whose text is not kept)."""
    code = new_secret(CODE_PREFIX)
    now = utcnow()
    await conn.execute(
        insert(oauth_grants).values(
            id=new_id(),
            user_id=user_id,
            client_id=client_id,
            client_name=client_name,
            scope=scope,
            resource=resource,
            code_hash=hash_token(code),
            code_challenge=code_challenge,
            redirect_uri=redirect_uri,
            redirect_uri_explicit=redirect_uri_explicit,
            code_expires_at=now + CODE_LIFETIME,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    return code


_g = oauth_grants
_t = oauth_tokens
_CODE = Query(select(_g).where(_g.c.code_hash == bindparam("code_hash")))
_EXCHANGE = Query(
    update(_g)
    .where(_g.c.id == bindparam("grant_id"), _g.c.exchanged_at.is_(None))
    .values(exchanged_at=bindparam("now"), expires_at=bindparam("expires_at"))
)


async def find_code(conn: Connection, code: str) -> Row | None:
    return (await conn.execute(_CODE, {"code_hash": hash_token(code)})).first()


@dataclass(frozen=True, slots=True)
class Issued:
    access_token: str
    refresh_token: str
    expires_in: int
    scope: str


async def _issue(
    conn: Connection, grant_id: uuid.UUID, scope: str, refresh_lifetime: timedelta
) -> Issued:
    access, refresh = new_secret(ACCESS_PREFIX), new_secret(REFRESH_PREFIX)
    now = utcnow()
    for kind, token, lifetime in (
        ("access", access, ACCESS_LIFETIME),
        ("refresh", refresh, refresh_lifetime),
    ):
        await conn.execute(
            insert(_t).values(
                id=new_id(),
                grant_id=grant_id,
                kind=kind,
                token_hash=hash_token(token),
                scope=scope,
                created_at=now,
                expires_at=now + lifetime,
                used_at=None,
            )
        )
    await conn.execute(
        update(_g).where(_g.c.id == grant_id).values(expires_at=now + refresh_lifetime)
    )
    return Issued(access, refresh, int(ACCESS_LIFETIME.total_seconds()), scope)


async def exchange_code(
    conn: Connection, grant_id: uuid.UUID, scope: str, refresh_lifetime: timedelta
) -> Issued | None:
    """The grant's first tokens; None when its code was exchanged already (a race lost)."""
    async with conn.transaction():
        now = utcnow()
        values = {"grant_id": grant_id, "now": now, "expires_at": now + refresh_lifetime}
        if not (await conn.execute(_EXCHANGE, values)).rowcount:
            return None
        return await _issue(conn, grant_id, scope, refresh_lifetime)


# --- refresh tokens --------------------------------------------------------------------------

_REFRESH = Query(
    select(
        _t.c.id,
        _t.c.grant_id,
        _t.c.scope,
        _t.c.expires_at,
        _t.c.used_at,
        _g.c.client_id,
        _g.c.user_id,
    )
    .join(_g, _g.c.id == _t.c.grant_id)
    .where(_t.c.token_hash == bindparam("token_hash"), _t.c.kind == "refresh")
)
_USE = Query(
    update(_t)
    .where(_t.c.id == bindparam("id"), _t.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
)


async def find_refresh(conn: Connection, token: str) -> Row | None:
    return (await conn.execute(_REFRESH, {"token_hash": hash_token(token)})).first()


async def rotate(
    conn: Connection,
    token_id: uuid.UUID,
    grant_id: uuid.UUID,
    scope: str,
    refresh_lifetime: timedelta,
) -> Issued | None:
    """New tokens for a refresh token, used up by this; None when it was used already."""
    async with conn.transaction():
        if not (await conn.execute(_USE, {"id": token_id, "now": utcnow()})).rowcount:
            return None
        return await _issue(conn, grant_id, scope, refresh_lifetime)


# --- revocation ------------------------------------------------------------------------------


async def revoke_grant(db: Database, known: KnownTokens, grant_id: uuid.UUID) -> None:
    async with db.connection() as conn:
        _, ids = await revoke_grants(conn, _g.c.id == grant_id)
    await known.revoked(*ids)


# --- connections ---------------------------------------------------------------------------

_CONNECTIONS = Query(
    select(
        _g.c.client_id,
        func.max(_g.c.client_name).label("client_name"),
        func.max(_g.c.scope).label("scope"),  # "tasks:read tasks:write" sorts last
        func.min(_g.c.created_at).label("created_at"),
        func.max(_g.c.last_used_at).label("last_used_at"),
    )
    .where(_g.c.user_id == bindparam("user_id"), _g.c.exchanged_at.is_not(None))
    .group_by(_g.c.client_id)
    .order_by(func.min(_g.c.created_at).desc(), _g.c.client_id)
)


async def list_connections(conn: Connection, user_id: uuid.UUID) -> list[Row]:
    return (await conn.execute(_CONNECTIONS, {"user_id": user_id})).rows


def connection_of(user_id: uuid.UUID, client_id: str) -> Any:
    return and_(_g.c.user_id == user_id, _g.c.client_id == client_id)


# --- housekeeping ----------------------------------------------------------------------------


async def prune(conn: Connection) -> tuple[int, int, int]:
    """Delete what expired: grants (a code never exchanged, or every refresh token past its
    end), tokens past their end, and registered clients a week old (UNUSED_CLIENT_LIFETIME)
    that no grant names: anyone may register one, and those never used go."""
    now = utcnow()
    grants = (await conn.execute(delete(_g).where(_g.c.expires_at <= now))).rowcount
    tokens = (await conn.execute(delete(_t).where(_t.c.expires_at <= now))).rowcount
    unused = ~select(_g.c.id).where(_g.c.client_id == oauth_clients.c.id).exists()
    old = oauth_clients.c.created_at <= now - UNUSED_CLIENT_LIFETIME
    clients = (await conn.execute(delete(oauth_clients).where(old, unused))).rowcount
    return grants, tokens, clients
