"""Making notifications from the activity (todo_api.collaboration.activity): one job of all
instances reads the items written since it last looked, in the change feed's order below its
bound (so that an item committed late is never passed over), and writes each recipient's
notifications and the emails to come, with where it stopped, in one transaction: every item
is read once, whatever process runs the job and however often it restarts.

Who hears of what: `assigned`, the new assignee (someone else assigned them); `mentioned`, the
members a comment mentions; `commented`, whoever created the task or is assigned it, on a
comment by someone else (a mention says it already); `completed`, the same two, when someone
else completes it; `member_joined`, the list's owner. Never the actor; never someone who does
not see the task (or the list) as the item is read, and the inbox and the emails ask again."""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, literal_column, or_, select, tuple_, update

from todo_api.config import Settings
from todo_api.db import Connection, Database, Query, Row, insert_bound
from todo_api.kit import access, changes, zones
from todo_api.kit.ids import new_id, utcnow
from todo_api.notifications.service import settings_of
from todo_api.tables.activity import activity
from todo_api.tables.comments import task_comments
from todo_api.tables.lists import lists
from todo_api.tables.notifications import (
    notification_emails,
    notification_scan,
    notification_settings,
    notifications,
)
from todo_api.tables.tasks import tasks
from todo_api.tables.users import users

BATCH = 500
PENDING = "pending"
# An instant email waits this long after the recipient's last one (later ones gather).
INSTANT_GAP = timedelta(minutes=1)

_A = activity.c
# The items that may make notifications (the actions written into the SQL, so that every plan
# knows them): a comment or a member joining; a completion that the task's creator or
# assignee hears of (someone else completed it); a task's other changes only when they name an
# assignee. Most writes are none of these (one completing their own task): the job does not
# read them.
_HEARD = ("comment.created", "member.joined")
_ASSIGNING = ("task.created", "task.updated", "task.moved", "task.completed")


def _actions(names: tuple[str, ...]) -> Any:
    return _A.action.in_([literal_column(f"'{action}'") for action in names])


def _someone_else(person: Any) -> Any:
    return person.is_not(None) & person.is_distinct_from(_A.actor_id)


_MAY_NOTIFY = or_(
    _actions(_HEARD),
    _actions(_ASSIGNING) & _A.changes["assignee_id"].as_string().is_not(None),
    _actions(("task.completed",))
    & or_(_someone_else(tasks.c.created_by), _someone_else(tasks.c.assignee_id)),
)
# Where the last read stopped, held until this one commits (PostgreSQL: a second reader, the
# job's claim lapsed or a call of its own, waits and then reads on from where this one ends).
_POSITION = Query(
    select(notification_scan.c.txid, notification_scan.c.seq)
    .where(notification_scan.c.id == 1)
    .with_for_update()
)
# The items whose task's creator and assignee may hear of them: read with the item.
_ABOUT_THE_TASK = ("task.completed", "comment.created")
_ITEMS = Query(
    select(
        activity,
        tasks.c.id.label("task_found"),
        tasks.c.created_by.label("task_created_by"),
        tasks.c.assignee_id.label("task_assignee_id"),
    )
    .select_from(
        activity.outerjoin(
            tasks,
            (tasks.c.id == _A.task_id) & _actions(_ABOUT_THE_TASK),
        )
    )
    .where(
        tuple_(_A.txid, _A.seq) > tuple_(bindparam("txid"), bindparam("seq")),
        _A.txid < bindparam("bound"),
        _MAY_NOTIFY,
    )
    .order_by(_A.txid, _A.seq)
    .limit(bindparam("limit"))
)
_LAST = Query(
    select(_A.txid, _A.seq)
    .where(
        tuple_(_A.txid, _A.seq) > tuple_(bindparam("txid"), bindparam("seq")),
        _A.txid < bindparam("bound"),
    )
    .order_by(_A.txid.desc(), _A.seq.desc())
    .limit(1)
)
_MOVE = Query(
    update(notification_scan)
    .where(notification_scan.c.id == 1)
    .values(txid=bindparam("txid"), seq=bindparam("seq"))
)
_COMMENT = Query(
    select(task_comments.c.mentions).where(task_comments.c.id == bindparam("comment_id"))
)
_OWNER = Query(select(lists.c.user_id).where(lists.c.id == bindparam("list_id")))
_WHO: Any = bindparam("who")
_SEES_TASK = Query(
    select(tasks.c.id).where(
        tasks.c.id == bindparam("task_id"),
        or_(tasks.c.user_id == _WHO, access.member_of(tasks.c.list_id, who=_WHO)),
    )
)
_SEES_LIST = Query(select(access.member_of(bindparam("list_id"), who=_WHO)))
_SETTINGS = Query(
    select(notification_settings).where(notification_settings.c.user_id == bindparam("user_id"))
)
_PENDING_EMAIL = Query(
    select(notification_emails.c.id, notification_emails.c.claimed_until).where(
        notification_emails.c.user_id == bindparam("user_id"),
        notification_emails.c.status == PENDING,
    )
)
_LAST_SENT = Query(
    select(notification_emails.c.sent_at)
    .where(
        notification_emails.c.user_id == bindparam("user_id"),
        notification_emails.c.sent_at.is_not(None),
    )
    .order_by(notification_emails.c.sent_at.desc())
    .limit(1)
)
_ZONE = Query(select(users.c.timezone).where(users.c.id == bindparam("user_id")))
_INSERT = Query(
    insert_bound(
        notifications,
        *(
            "id",
            "user_id",
            "kind",
            "at",
            "actor_id",
            "task_id",
            "list_id",
            "comment_id",
            "email_pending",
        ),
    )
)
_INSERT_EMAIL = Query(
    insert_bound(
        notification_emails,
        *("id", "user_id", "digest", "status", "next_attempt_at", "created_at"),
    )
)


@dataclass(frozen=True)
class Made:
    user_id: uuid.UUID
    kind: str
    actor_id: uuid.UUID | None
    task_id: uuid.UUID | None
    list_id: uuid.UUID | None
    comment_id: uuid.UUID | None = None


def _id(value: Any) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


async def _made_of(conn: Connection, item: Row) -> list[Made]:
    """The notifications an activity item makes, before the checks of who sees what."""
    actor, task_id, list_id = item["actor_id"], item["task_id"], item["list_id"]
    change = item["changes"] or {}
    if isinstance(change, str):  # as SQLite hands it over
        change = json.loads(change)
    action = item["action"]
    made: list[Made] = []
    assignee = _id(change.get("assignee_id", [None, None])[1])
    if assignee is not None and action.startswith("task."):
        made.append(Made(assignee, "assigned", actor, task_id, list_id))
    # The task's creator and assignee, read with the item (`task_found` null: it is gone).
    people = (item["task_created_by"], item["task_assignee_id"])
    if action == "task.completed":
        if item["task_found"] is not None:
            for who in dict.fromkeys(people):
                if who is not None:
                    made.append(Made(who, "completed", actor, task_id, list_id))
        return made
    if action == "comment.created":
        comment_id = _id(change["comment_id"][1])
        comment = (await conn.execute(_COMMENT, {"comment_id": comment_id})).first()
        if comment is None or item["task_found"] is None:
            return []
        mentioned = [uuid.UUID(str(m)) for m in comment.mentions or []]
        made = [Made(who, "mentioned", actor, task_id, list_id, comment_id) for who in mentioned]
        for who in dict.fromkeys(people):
            if who is not None and who not in mentioned:
                made.append(Made(who, "commented", actor, task_id, list_id, comment_id))
        return made
    if action == "member.joined":
        owner = (await conn.execute(_OWNER, {"list_id": list_id})).scalar()
        return [] if owner is None else [Made(owner, "member_joined", actor, None, list_id)]
    return made


async def sees(
    conn: Connection, who: uuid.UUID, task_id: uuid.UUID | None, list_id: uuid.UUID | None
) -> bool:
    """Whether `who` sees the task (or, without one, the list) now."""
    if task_id is not None:
        return (
            await conn.execute(_SEES_TASK, {"task_id": task_id, "who": who})
        ).first() is not None
    return bool((await conn.execute(_SEES_LIST, {"list_id": list_id, "who": who})).scalar())


def next_digest(settings: Settings, zone_name: str, now: datetime) -> datetime:
    """The next NOTIFICATION_DIGEST_TIME on the clock of `zone_name`, after `now`."""
    hours, minutes = (int(part) for part in settings.notification_digest_time.split(":"))
    zone = zones.zone(zone_name)
    local = now.astimezone(zone)
    at = datetime.combine(local.date(), time(hours, minutes), tzinfo=zone)
    if at <= local:
        at = datetime.combine(local.date() + timedelta(days=1), time(hours, minutes), tzinfo=zone)
    return at.astimezone(now.tzinfo)


async def queue_email(
    conn: Connection, settings: Settings, user_id: uuid.UUID, digest: bool, now: datetime
) -> None:
    """An email to come for the user's pending notifications, unless one is already waiting:
    an instant one at once, or a minute after their last; a digest at the next digest time.
    One being sent right now (claimed) may have gathered its notifications already: the next
    one comes after it (a minute later, or at the next digest time)."""
    waiting = (await conn.execute(_PENDING_EMAIL, {"user_id": user_id})).rows
    if any(row.claimed_until is None or row.claimed_until <= now for row in waiting):
        return
    if digest:
        zone = (await conn.execute(_ZONE, {"user_id": user_id})).scalar() or "UTC"
        due = next_digest(settings, zone, now + timedelta(seconds=1) if waiting else now)
    else:
        last = (await conn.execute(_LAST_SENT, {"user_id": user_id})).scalar()
        due = now if last is None else max(now, last + INSTANT_GAP)
        if waiting:  # in flight: it is the last one
            due = max(due, now + INSTANT_GAP)
    await conn.execute(
        _INSERT_EMAIL,
        {
            "id": new_id(),
            "user_id": user_id,
            "digest": digest,
            "status": PENDING,
            "next_attempt_at": due,
            "created_at": now,
        },
    )


async def make(db: Database, settings: Settings) -> int:
    """Read the activity written since the last look (a batch) and make its notifications;
    returns how many items were read."""
    async with db.transaction() as conn:
        bound = await changes.read_bound(conn)  # first: this transaction holds no id yet
        start = (await conn.execute(_POSITION)).one()
        params = {"txid": start.txid, "seq": start.seq, "bound": bound, "limit": BATCH}
        items = (await conn.execute(_ITEMS, params)).rows
        last = (await conn.execute(_LAST, params)).first() if len(items) < BATCH else items[-1]
        if last is None:
            return 0
        now = utcnow()
        for item in items:
            for made in await _made_of(conn, item):
                await _write(conn, settings, made, now)
        await conn.execute(_MOVE, {"txid": last.txid, "seq": last.seq})
    return len(items)


async def _write(conn: Connection, settings: Settings, made: Made, now: datetime) -> None:
    if made.user_id == made.actor_id or not await sees(
        conn, made.user_id, made.task_id, made.list_id
    ):
        return
    wanted = settings_of((await conn.execute(_SETTINGS, {"user_id": made.user_id})).first())
    by_email = wanted["email"] != "off" and wanted["kinds"].get(made.kind, False)
    await conn.execute(
        _INSERT,
        {
            "id": new_id(),
            "user_id": made.user_id,
            "kind": made.kind,
            "at": now,
            "actor_id": made.actor_id,
            "task_id": made.task_id,
            "list_id": made.list_id,
            "comment_id": made.comment_id,
            "email_pending": by_email,
        },
    )
    if by_email:
        await queue_email(conn, settings, made.user_id, wanted["email"] == "daily", now)
