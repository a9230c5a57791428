"""Built-in sign-ins: where each was made, the list a user sees, and ending one or all of them
(the check that an access token's sign-in still works: todo_api.auth.live_sign_ins).

A sign-in is a refresh family (todo_api.accounts.service): it works while none of its refresh
tokens is revoked. Its access tokens name it (the `sign_in` claim), and are refused (401
INVALID_TOKEN) from the request after it ends, on every process: ending one is told to every
process as a revocation of its id (`KnownTokens.revoked`, todo_api.live.wakeups), as a personal
token's is.
"""

import hashlib
import ipaddress
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update

from todo_api.auth.errors import SignInNotFound
from todo_api.db import Connection, Query
from todo_api.kit.ids import new_id, utcnow
from todo_api.tables.accounts import USER_AGENT_MAX_LENGTH, sign_ins
from todo_api.tables.users import refresh_tokens

rt = refresh_tokens.c


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a sign-in was made from: the client's User-Agent and its network."""

    user_agent: str | None
    address: str | None


def origin(user_agent: str | None, client_address: str | None) -> Origin:
    """The origin kept for a sign-in: the User-Agent cut to its column, the address as its
    IPv4 /24 or IPv6 /48 (enough to tell places apart, not to find a home)."""
    agent = "".join(c for c in user_agent or "" if c.isprintable())[:USER_AGENT_MAX_LENGTH]
    network: str | None = None
    if client_address:
        try:
            ip = ipaddress.ip_address(client_address)
        except ValueError:
            ip = None
        if ip is not None:
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            prefix = 24 if ip.version == 4 else 48
            network = str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
    return Origin(agent or None, network)


async def record(
    conn: Connection, *, sign_in: uuid.UUID, user_id: uuid.UUID, made_from: Origin
) -> None:
    await conn.execute(
        insert(sign_ins).values(
            id=sign_in,
            user_id=user_id,
            user_agent=made_from.user_agent,
            address=made_from.address,
            created_at=utcnow(),
        )
    )


async def open_without_token(
    conn: Connection, *, user_id: uuid.UUID, made_from: Origin, expires_at: datetime
) -> uuid.UUID:
    """A new sign-in whose refresh token is never handed out (a browser's, held in a cookie:
    todo_api.accounts.browser): it works, is listed and ends as any other, until `expires_at`."""
    sign_in = new_id()
    await record(conn, sign_in=sign_in, user_id=user_id, made_from=made_from)
    await conn.execute(
        insert(refresh_tokens).values(
            id=new_id(),
            user_id=user_id,
            family_id=sign_in,
            token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),  # matches no token
            created_at=utcnow(),
            expires_at=expires_at,
        )
    )
    return sign_in


_si = sign_ins.c
# The user's working sign-ins: when each was made, when it was last refreshed, and from where.
_LIST = Query(
    select(
        rt.family_id.label("id"),
        func.min(rt.created_at).label("created_at"),
        func.max(rt.created_at).label("last_used_at"),
        func.max(_si.user_agent).label("user_agent"),
        func.max(_si.address).label("address"),
    )
    .select_from(refresh_tokens.outerjoin(sign_ins, _si.id == rt.family_id))
    .where(rt.user_id == bindparam("user_id"))
    .group_by(rt.family_id)
    .having(func.count(rt.revoked_at) == 0, func.max(rt.expires_at) > bindparam("now"))
)


async def list_sign_ins(
    conn: Connection, user_id: uuid.UUID, current: uuid.UUID | None
) -> list[dict[str, object]]:
    """The user's sign-ins that work, newest first; `current` marks the caller's."""
    rows = (await conn.execute(_LIST, {"user_id": user_id, "now": utcnow()})).rows
    listed = [
        {
            "id": uuid.UUID(str(row["id"])),
            "created_at": row["created_at"],
            "last_used_at": row["last_used_at"],
            "user_agent": row["user_agent"],
            "address": row["address"],
            "current": current is not None and uuid.UUID(str(row["id"])) == current,
        }
        for row in rows
    ]
    listed.sort(key=_newest_first)
    return listed


def _newest_first(item: dict[str, object]) -> tuple[float, str]:
    created = item["created_at"]
    assert isinstance(created, datetime)
    return (-created.timestamp(), str(item["id"]))


async def revoke(
    conn: Connection, user_id: uuid.UUID, *, keep: uuid.UUID | None = None
) -> list[uuid.UUID]:
    """Revoke every working sign-in of the user but `keep`; the ids of those it ended."""
    condition = [rt.user_id == user_id, rt.revoked_at.is_(None)]
    if keep is not None:
        condition.append(rt.family_id != keep)
    ended = await conn.execute(
        update(refresh_tokens).where(*condition).values(revoked_at=utcnow()).returning(rt.family_id)
    )
    return sorted({uuid.UUID(str(row.family_id)) for row in ended}, key=str)


async def end(conn: Connection, user_id: uuid.UUID, sign_in: uuid.UUID) -> None:
    """End one of the user's sign-ins (SignInNotFound for one that is not theirs, or ended)."""
    ended = await conn.execute(
        update(refresh_tokens)
        .where(rt.user_id == user_id, rt.family_id == sign_in, rt.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if not ended.rowcount:
        raise SignInNotFound
