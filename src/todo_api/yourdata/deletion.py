"""Deleting an account: everything of the user goes, and what they shared stays whole for the
others, in one transaction.

The lists come first (todo_api.lists.succession): those they own pass to an editor or go for
everyone, their traces in others' lists name nobody, their memberships end. The rest goes
with the user's row: every table of what a user owns refers to `users` with ON DELETE CASCADE
(tasks, lists, memberships, webhooks and their deliveries, refresh tokens, personal and OAuth
tokens, reminders' schedule through their tasks, live tickets, counts), so a table added
later for a user's rows is covered by its own foreign key. The rows kept without one
(idempotency keys, reminder emails) are deleted here, and what calendar apps gave for the
user's tasks (`dav_objects`: the body sent, the properties the mapping does not hold, a
deleted task as it was) is emptied: only its name stays, which sync answers give for the
deletion until the change feed forgets it (then CalDAV's housekeeping deletes the row). The
tombstones (ids and stamps, no content) stay until the feed's retention passes, as they name
the deletions to the members of the lists the user shared.
"""

import uuid
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, update

from todo_api.db import Connection, Query
from todo_api.files.storage import Files
from todo_api.kit import ordering
from todo_api.kit.errors import InvalidField
from todo_api.lists.succession import leave_every_list
from todo_api.tables.attachments import attachments
from todo_api.tables.dav import dav_objects
from todo_api.tables.deleted_tasks import deleted_tasks
from todo_api.tables.idempotency import idempotency_keys
from todo_api.tables.oauth import oauth_grants, oauth_tokens
from todo_api.tables.reminders import reminder_emails
from todo_api.tables.tasks import tasks, tombstones
from todo_api.tables.tokens import personal_tokens
from todo_api.tables.users import users

_ME: Any = bindparam("user_id")
_USER = Query(select(users.c.id, users.c.email).where(users.c.id == _ME))
_FORGET_KEYS = Query(delete(idempotency_keys).where(idempotency_keys.c.user_id == _ME))
_FORGET_EMAILS = Query(delete(reminder_emails).where(reminder_emails.c.recipient_id == _ME))
_DELETE_USER = Query(delete(users).where(users.c.id == _ME))
# The user's tasks: those that go with the user's row, and those deleted before.
_FORGET_CALENDAR_NOTES = Query(
    update(dav_objects)
    .where(
        or_(
            dav_objects.c.task_id.in_(select(tasks.c.id).where(tasks.c.user_id == _ME)),
            dav_objects.c.task_id.in_(
                select(tombstones.c.task_id).where(tombstones.c.user_id == _ME)
            ),
        )
    )
    .values(extra=None, sent=None, sent_version=None, deleted_task=None)
)
# Their files (their tasks', and those they uploaded elsewhere), and their deleted tasks kept.
_FILES = Query(
    select(attachments.c.storage_key)
    .join(tasks, tasks.c.id == attachments.c.task_id)
    .where(or_(tasks.c.user_id == _ME, attachments.c.created_by == _ME))
)
_KEPT = Query(select(deleted_tasks.c.kept).where(deleted_tasks.c.user_id == _ME))
_FORGET_DELETED_TASKS = Query(delete(deleted_tasks).where(deleted_tasks.c.user_id == _ME))
_NAMED = Query(
    select(attachments.c.storage_key).where(attachments.c.storage_key == bindparam("key"))
)
# The tokens that go with the user (by their foreign keys), whose ids every process is told.
_TOKENS = Query(
    select(personal_tokens.c.id)
    .where(personal_tokens.c.user_id == _ME)
    .union_all(
        select(oauth_tokens.c.id)
        .join(oauth_grants, oauth_grants.c.id == oauth_tokens.c.grant_id)
        .where(oauth_grants.c.user_id == _ME)
    )
)


def confirms(confirm: str, user: dict[str, Any]) -> bool:
    """Whether `confirm` is the user's email, ignoring case (a user with no email: their
    id)."""
    expected = user["email"] if user["email"] is not None else str(user["id"])
    return confirm.strip().casefold() == expected.casefold()


async def delete_account(
    conn: Connection, user_id: uuid.UUID, *, confirm: str, files: Files
) -> list[uuid.UUID]:
    """Delete the user and everything of theirs; InvalidField naming `confirm` unless it is
    their email. A user already gone has nothing left to delete. The ids of the tokens
    (personal and OAuth) deleted with them, for every process to forget. Their files' bytes
    are removed once it has committed."""
    params = {"user_id": user_id}
    async with conn.transaction():
        user = (await conn.execute(_USER, params)).first()
        if user is None:
            return []
        if not confirms(confirm, user):
            raise InvalidField("confirm", "must be your account's email")
        await ordering.serialise(conn, user_id)
        keys = await _their_files(conn, user_id)
        await leave_every_list(conn, user_id)
        await conn.execute(_FORGET_KEYS, params)
        await conn.execute(_FORGET_EMAILS, params)
        await conn.execute(_FORGET_CALENDAR_NOTES, params)
        await conn.execute(_FORGET_DELETED_TASKS, params)
        tokens = [row.id for row in (await conn.execute(_TOKENS, params)).rows]
        await conn.execute(_DELETE_USER, params)
        # (a file of a list that passed to an editor stays theirs)
        keys = {k for k in keys if not (await conn.execute(_NAMED, {"key": k})).first()}
    for key in keys:
        await files.remove(key)
    return tokens


async def _their_files(conn: Connection, user_id: uuid.UUID) -> set[str]:
    """The storage keys of the files on the user's tasks, those they uploaded, and those of
    their deleted tasks kept for `restore`."""
    rows = (await conn.execute(_FILES, {"user_id": user_id})).rows
    kept = (await conn.execute(_KEPT, {"user_id": user_id})).rows
    return {row.storage_key for row in rows} | {
        file["storage_key"] for row in kept for file in row.kept.get("attachments", [])
    }
