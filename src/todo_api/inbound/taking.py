"""Mail made into tasks: the one place every way in (SMTP, Postmark, Mailgun) ends.

For each recipient at INBOUND_DOMAIN whose secret names a list: the sender (the From header's
address) must be the verified email of one of the list's owner and editors, unless the list
takes mail from others (the task is then made in its owner's name); a message is taken once
per list (its `Message-ID`), and at most DAILY_LIMIT a list in 24 hours. The subject is read as
quick add reads words (dates, priority, tags; a `#list` names nothing: the address decides),
the body is the description, the files become the task's attachments within the attachments'
limits. Whatever is refused is logged, one line, without the address."""

import enum
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, func, insert, select, update

from todo_api.db import Connection, Database, IntegrityViolation, Query, Row
from todo_api.files import service as files_service
from todo_api.files.errors import QuotaExceeded, TaskReadOnly, TooManyAttachments
from todo_api.files.router import put_received
from todo_api.files.storage import Files
from todo_api.files.upload import Received, Spool
from todo_api.inbound import addresses
from todo_api.inbound.mail import File, Mail
from todo_api.kit import access, activity
from todo_api.kit import text as text_rules
from todo_api.kit.errors import InvalidField, TaskNotFound
from todo_api.kit.ids import utcnow
from todo_api.tables.inbound import inbound_messages
from todo_api.tables.tasks import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH
from todo_api.tables.users import users
from todo_api.tasks import quick
from todo_api.tasks import service as tasks_service
from todo_api.tasks.schemas import QUICK_TEXT_MAX_LENGTH, QuickAdd, TaskCreate

log = logging.getLogger("todo_api")

DAILY_LIMIT = 100
# Files taken from one message; the rest are left out (a task holds at most 100).
FILES_PER_MESSAGE = 20
NO_SUBJECT = "(no subject)"
ACTION = "task.emailed"


class Outcome(enum.StrEnum):
    taken = "taken"
    unknown_address = "unknown_address"
    refused_sender = "refused_sender"
    duplicate = "duplicate"
    over_limit = "over_limit"


@dataclass
class Result:
    outcome: Outcome
    task_id: uuid.UUID | None = None


# The member (owner or editor) of the list whose verified email is the sender's.
_SENDER = Query(
    select(users.c.id).where(
        func.lower(users.c.email) == bindparam("email"),
        users.c.email_verified.is_(True),
        access.member_of(bindparam("list_id"), *access.WRITERS, who=users.c.id),
    )
)
_TODAY = Query(
    select(func.count()).where(
        inbound_messages.c.list_id == bindparam("list_id"),
        inbound_messages.c.received_at > bindparam("since"),
    )
)
_TAKE = Query(
    insert(inbound_messages).values(
        list_id=bindparam("list_id"),
        message_hash=bindparam("message_hash"),
        received_at=bindparam("now"),
    )
)
_MADE = Query(
    update(inbound_messages)
    .where(
        inbound_messages.c.list_id == bindparam("list_id"),
        inbound_messages.c.message_hash == bindparam("message_hash"),
    )
    .values(task_id=bindparam("task_id"))
)


def local_part(recipient: str, domain: str) -> str | None:
    """The secret a recipient at INBOUND_DOMAIN carries (a `+tag` after it ignored)."""
    local, at, host = recipient.strip().strip("<>").lower().rpartition("@")
    if not at or host.rstrip(".") != domain or not local.isascii():
        return None
    return local.partition("+")[0]


async def known(db: Database, recipient: str, domain: str) -> bool:
    """Whether a recipient is a list's address (SMTP's RCPT is refused otherwise)."""
    secret = local_part(recipient, domain)
    if secret is None:
        return False
    async with db.connection() as conn:
        return await addresses.find(conn, secret) is not None


async def take(db: Database, files: Files, domain: str, mail: Mail) -> list[Result]:
    """A task in each list the message is addressed to."""
    results: list[Result] = []
    done: set[uuid.UUID] = set()
    asked: set[str] = set()
    for recipient in mail.recipients:
        secret = local_part(recipient, domain)
        if secret is None or secret in asked:
            continue
        asked.add(secret)
        async with db.connection() as conn:
            target = await addresses.find(conn, secret)
            if target is None:
                log.info("inbound: a message to an unknown address at %s was refused", domain)
                results.append(Result(Outcome.unknown_address))
                continue
            if target.list_id in done:
                continue
            done.add(target.list_id)
            result, actor = await _task_from(conn, target, mail)
        results.append(result)
        if result.task_id is not None and mail.files:
            await _attach(db, files, actor, result.task_id, mail.files)
    return results


async def _task_from(conn: Connection, target: Row, mail: Mail) -> tuple[Result, uuid.UUID]:
    list_id = target.list_id
    now = utcnow()
    params = {"list_id": list_id, "message_hash": mail.identity_hash, "now": now}
    async with conn.transaction():
        from_address = _line(mail.sender)
        sender = (await conn.execute(_SENDER, {**params, "email": from_address})).scalar()
        if sender is None and not target.allow_others:
            log.info("inbound: list %s refused a message from a stranger to it", list_id)
            return Result(Outcome.refused_sender), target.owner_id
        since = now - timedelta(days=1)
        if (await conn.execute(_TODAY, {**params, "since": since})).scalar() >= DAILY_LIMIT:
            log.warning(
                "inbound: list %s took %d messages today: one more refused", list_id, DAILY_LIMIT
            )
            return Result(Outcome.over_limit), target.owner_id
        try:
            async with conn.savepoint():
                await conn.execute(_TAKE, params)
        except IntegrityViolation:
            log.info("inbound: list %s had this message already", list_id)
            return Result(Outcome.duplicate), target.owner_id
        actor: uuid.UUID = sender or target.owner_id
        data = await _task_data(conn, actor, list_id, mail)
        task = await tasks_service.create_task(conn, actor, data=data)
        await conn.execute(_MADE, {**params, "task_id": task["id"]})
        await activity.record(
            conn,
            ACTION,
            actor_id=sender,
            list_id=list_id,
            task_id=task["id"],
            changes={"from": [None, from_address]},
        )
    log.info("inbound: list %s took a message as task %s", list_id, task["id"])
    return Result(Outcome.taken, task["id"]), actor


_SURROGATE = re.compile("[\ud800-\udfff]")


def _line(text: str) -> str:
    """A header as a title or an address can keep it: no control character, no lone surrogate
    (an 8-bit byte no charset named), white space as single spaces."""
    return " ".join(text_rules.without_controls(_SURROGATE.sub("", text)).split())


def _paragraph(text: str) -> str:
    """A body as a description can keep it: its lines, each without control characters."""
    lines = _SURROGATE.sub("", text).splitlines()
    return "\n".join(text_rules.without_controls(line).rstrip() for line in lines).strip()


def _shortened(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


async def _task_data(
    conn: Connection, actor: uuid.UUID, list_id: uuid.UUID, mail: Mail
) -> TaskCreate:
    """The subject read as quick add reads it, in the list; as it is when it reads as nothing
    (no title left, a date out of range, a `/section` the list does not have)."""
    subject = _line(mail.subject)
    description = _shortened(_paragraph(mail.text), DESCRIPTION_MAX_LENGTH) or None
    data: TaskCreate | None = None
    if subject:
        asked = QuickAdd(text=subject[:QUICK_TEXT_MAX_LENGTH], list_id=list_id)
        try:
            data, _ = await quick.read(conn, actor, data=asked, accept_language=None, lists=False)
        except InvalidField:
            data = None
    fields: dict[str, Any] = {
        "list_id": str(list_id),
        "title": _shortened(subject or NO_SUBJECT, TITLE_MAX_LENGTH),
    }
    if data is not None:
        fields = data.model_dump(mode="json", exclude_unset=True)
    fields["description"] = description
    try:
        return TaskCreate.model_validate(fields)
    except ValidationError:  # whatever the rules refuse still makes a task: its bare title
        return TaskCreate.model_validate({"list_id": str(list_id), "title": NO_SUBJECT})


async def _attach(
    db: Database, files: Files, actor: uuid.UUID, task_id: uuid.UUID, parts: list[File]
) -> None:
    for number, part in enumerate(parts):
        if number >= FILES_PER_MESSAGE:
            log.info(
                "inbound: task %s: %d files past the first %d left out",
                task_id,
                len(parts) - number,
                FILES_PER_MESSAGE,
            )
            return
        if len(part.data) > files.max_bytes:
            log.info("inbound: task %s: a file larger than ATTACHMENT_MAX_BYTES left out", task_id)
            continue
        spool = Spool(files.storage.spool_dir, files.max_bytes)
        try:
            await spool.write(part.data)
            sha256 = await spool.finish()
        except BaseException:
            spool.discard()
            raise
        received = Received(
            spool.path, spool.size, sha256, spool.head, part.name, part.content_type
        )
        row = await put_received(files, received, part.name)
        try:
            async with db.connection() as conn:
                await files_service.add_attachment(
                    conn, actor, task_id, row=row, quota=files.quota_bytes
                )
        except (TooManyAttachments, QuotaExceeded, TaskNotFound, TaskReadOnly) as exc:
            await files.remove(row["storage_key"])
            log.info("inbound: task %s: the files left out: %s", task_id, exc.message)
            return
        except BaseException:
            await files.remove(row["storage_key"])
            raise
