"""A list's address for tasks by email: made (or made anew, which ends the old one), shown,
turned off, and the list's choice of taking mail from people who are not its members.

Its owner and editors, who may put tasks in it, manage it; a viewer gets 403, anyone else 404
(`kit.access`). The address is `<secret>@INBOUND_DOMAIN`: the secret is derived from a random
key with the service's signing secret (HMAC-SHA256, 160 bits kept, base32), so the list's
people can see it again, while the table holds only the key and the secret's SHA-256 (by which
a message's recipient is found, an index lookup that a guess gains nothing from)."""

import base64
import hashlib
import hmac
import uuid
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from todo_api.config.inbound import SECRET_LENGTH
from todo_api.db import Connection, IntegrityViolation, Query, Row
from todo_api.kit import access
from todo_api.kit.errors import ApiError, ErrorCode, ListNotFound
from todo_api.kit.ids import utcnow
from todo_api.lists.errors import ListForbidden
from todo_api.tables.inbound import inbound_addresses
from todo_api.tables.lists import lists

_A = inbound_addresses.c


class InboundUnavailable(ApiError):
    status, code = 503, ErrorCode.EMAIL_UNAVAILABLE
    message = "Tasks by email are not set up on this service (INBOUND_DOMAIN)"


# Whether the caller sees the list, and may put tasks in it.
_STANDING = Query(
    select(
        access.member_of(bindparam("list_id")).label("sees"),
        access.member_of(bindparam("list_id"), *access.WRITERS).label("writes"),
    )
)
_SETTINGS = Query(select(inbound_addresses).where(_A.list_id == bindparam("list_id")))
_INSERT = Query(
    insert(inbound_addresses).values(
        list_id=bindparam("list_id"),
        key=bindparam("key"),
        secret_hash=bindparam("secret_hash"),
        allow_others=bindparam("allow_others"),
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
)
_SET_ADDRESS = Query(
    update(inbound_addresses)
    .where(_A.list_id == bindparam("list_id"))
    .values(key=bindparam("key"), secret_hash=bindparam("secret_hash"), updated_at=bindparam("now"))
)
_SET_OTHERS = Query(
    update(inbound_addresses)
    .where(_A.list_id == bindparam("list_id"))
    .values(allow_others=bindparam("allow_others"), updated_at=bindparam("now"))
)
# The list a message's recipient names, with its owner and its choice of senders.
BY_SECRET = Query(
    select(_A.list_id, _A.allow_others, lists.c.user_id.label("owner_id"))
    .select_from(inbound_addresses.join(lists, lists.c.id == _A.list_id))
    .where(_A.secret_hash == bindparam("secret_hash"))
)


def secret_for(signing_secret: str, key: uuid.UUID) -> str:
    digest = hmac.new(signing_secret.encode(), b"inbound-address:" + key.bytes, "sha256")
    return base64.b32encode(digest.digest()[:20]).decode().lower()[:SECRET_LENGTH]


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.lower().encode()).hexdigest()


async def _writer(conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID) -> None:
    """ListNotFound for a stranger to the list, ListForbidden for a viewer."""
    standing = (await conn.execute(_STANDING, {"list_id": list_id, "user_id": user_id})).one()
    if not standing.sees:
        raise ListNotFound
    if not standing.writes:
        raise ListForbidden("Only the list's owner and editors may manage its email address")


def shown(
    row: Row | dict[str, Any] | None, list_id: uuid.UUID, secret: str, domain: str | None
) -> dict[str, Any]:
    """The API's shape of the list's address (`secret`: the signing secret)."""
    key = None if row is None else row["key"]
    address = None
    if key is not None and domain is not None:
        derived = secret_for(secret, key)
        # A signing secret changed since: the address works still, but cannot be shown.
        if secret_hash(derived) == row["secret_hash"]:  # type: ignore[index]
            address = f"{derived}@{domain}"
    return {
        "list_id": list_id,
        "enabled": key is not None,
        "address": address,
        "allow_others": bool(row is not None and row["allow_others"]),
        "updated_at": None if row is None else row["updated_at"],
    }


async def settings_of(conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID) -> Row | None:
    await _writer(conn, user_id, list_id)
    return (await conn.execute(_SETTINGS, {"list_id": list_id})).first()


async def make_address(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, secret: str
) -> Row:
    """A new address for the list; the one it had (if any) names nothing from now on."""
    key = uuid.uuid4()
    params = {
        "list_id": list_id,
        "key": key,
        "secret_hash": secret_hash(secret_for(secret, key)),
        "now": utcnow(),
        "allow_others": False,
    }
    async with conn.transaction():
        await _writer(conn, user_id, list_id)
        if not (await conn.execute(_SET_ADDRESS, params)).rowcount:
            try:
                async with conn.savepoint():
                    await conn.execute(_INSERT, params)
            except IntegrityViolation:  # made at the same moment by another request
                await conn.execute(_SET_ADDRESS, params)
        return (await conn.execute(_SETTINGS, params)).one()


async def turn_off(conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID) -> None:
    params = {"list_id": list_id, "key": None, "secret_hash": None, "now": utcnow()}
    async with conn.transaction():
        await _writer(conn, user_id, list_id)
        await conn.execute(_SET_ADDRESS, params)


async def allow_others(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, allow: bool
) -> Row:
    """Whether mail from people who are not the list's members makes tasks."""
    params = {
        "list_id": list_id,
        "allow_others": allow,
        "key": None,
        "secret_hash": None,
        "now": utcnow(),
    }
    async with conn.transaction():
        await _writer(conn, user_id, list_id)
        if not (await conn.execute(_SET_OTHERS, params)).rowcount:
            await conn.execute(_INSERT, params)
        return (await conn.execute(_SETTINGS, params)).one()


async def find(conn: Connection, local_part: str) -> Row | None:
    """The list an address's local part names (with `owner_id`, `allow_others`), or None."""
    if len(local_part) != SECRET_LENGTH:
        return None
    return (await conn.execute(BY_SECRET, {"secret_hash": secret_hash(local_part)})).first()
