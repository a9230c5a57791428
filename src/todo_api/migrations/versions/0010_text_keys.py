"""text keys: tasks' search keys, list names compared by their normalised key, text in NFC

- `tasks` gains `title_key` and `description_key` (todo_api.tables.keys.search_key: NFKD,
  marks dropped, case-folded), which a search compares on both databases alike; the service writes
  them with the text. No index: a search walks the sort's index with the keys as a filter
  (migration 0006 says why), and reads a key instead of lower-casing the text on every row.
- `lists.name_key` becomes todo_api.tables.keys.name_key (NFKC, case-folded,
  default-ignorable characters removed), still unique per user.
- Existing text is normalised as the service now stores it: titles, descriptions and list
  names in NFC, tags case-folded (duplicates that folding makes are dropped). A value that
  would no longer fit its column so is left as it was, and logged.

Lists whose names collide once normalised (`Straße` and `STRASSE`, `Work` and `W<U+200B>ork`):
the later one (by creation, then id) is renamed with a suffix, ` (2)`, ` (3)`..., and each
rename is logged with both lists' ids. Renaming rather than keeping the duplicate: uniqueness
then holds for every row, as the contract promises and as the unique index needs, and the
renamed list reaches every client through the change feed; nothing is deleted and the user
sees which list was renamed. A duplicate kept under some disambiguated key would break the
rule silently until someone happened to rename it.

Rows whose visible text changes are stamped for the change feed (clients fetch them again);
rows that only gain keys are not (the feed's stamping triggers are paused for that pass), so
no client re-reads every task because of this migration.

It writes every task once, in the migration's one transaction: on a large table, plan for it
(2 million tasks took more than 15 minutes on a busy 2-core machine), and on PostgreSQL the
change feed of every database of the server waits for that transaction to end.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

import logging
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from todo_api.migrations.stamps import pause_stamps, resume_stamps
from todo_api.tables import keys

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("todo_api")

BATCH = 1000
TITLE_MAX_LENGTH, DESCRIPTION_MAX_LENGTH, TAG_MAX_LENGTH = 200, 2000, 50
NAME_MAX_LENGTH, NAME_KEY_MAX_LENGTH = 100, 400

TAGS = sa.JSON().with_variant(JSONB(), "postgresql")
tasks = sa.table(
    "tasks",
    sa.column("id", sa.Uuid()),
    sa.column("title", sa.String()),
    sa.column("description", sa.String()),
    sa.column("tags", TAGS),
    sa.column("title_key", sa.Text()),
    sa.column("description_key", sa.Text()),
)
lists = sa.table(
    "lists",
    sa.column("id", sa.Uuid()),
    sa.column("user_id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("name_key", sa.String()),
    sa.column("created_at", sa.String()),
)


def _nfc(value: str, max_length: int, what: str) -> str:
    normalised = unicodedata.normalize("NFC", value)
    if len(normalised) > max_length:
        log.warning("migration 0010: %s left as it was: longer than %d in NFC", what, max_length)
        return value
    return normalised


def _tags(tags: list[str], task_id: uuid.UUID) -> list[str]:
    folded = []
    for tag in tags:
        form = keys.tag_form(tag)
        if len(form) > TAG_MAX_LENGTH:
            log.warning("migration 0010: a tag of task %s left as it was: too long folded", task_id)
            form = tag
        folded.append(form)
    return list(dict.fromkeys(folded))


def _task_batches(conn: sa.Connection) -> Iterator[Sequence[Any]]:
    page = (
        sa.select(tasks.c.id, tasks.c.title, tasks.c.description, tasks.c.tags)
        .order_by(tasks.c.id)
        .limit(BATCH)
    )
    rows = conn.execute(page).all()
    while rows:
        yield rows
        rows = conn.execute(page.where(tasks.c.id > rows[-1].id)).all()


def _normalise_tasks(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every task's keys (written here, unstamped); the tasks whose text changes, returned."""
    changed = []
    update_keys = (
        sa.update(tasks)
        .where(tasks.c.id == sa.bindparam("task_id"))
        .values(title_key=sa.bindparam("title_key"), description_key=sa.bindparam("desc_key"))
    )
    for rows in _task_batches(conn):
        key_rows = []
        for row in rows:
            title = _nfc(row.title, TITLE_MAX_LENGTH, f"the title of task {row.id}")
            description = row.description
            if description is not None:
                description = _nfc(
                    description, DESCRIPTION_MAX_LENGTH, f"the description of task {row.id}"
                )
            tags = _tags(row.tags, row.id)
            key_rows.append(
                {
                    "task_id": row.id,
                    "title_key": keys.search_key(title),
                    "desc_key": None if description is None else keys.search_key(description),
                }
            )
            if (title, description, tags) != (row.title, row.description, row.tags):
                new = {"new_title": title, "new_desc": description, "new_tags": tags}
                changed.append({"task_id": row.id, **new})
        conn.execute(update_keys, key_rows)
    return changed


def _normalise_lists(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every list's new key and name; a name that collides within its user is renamed."""
    rows = conn.execute(
        sa.select(lists.c.id, lists.c.user_id, lists.c.name).order_by(
            lists.c.user_id, lists.c.created_at, lists.c.id
        )
    ).all()
    taken: dict[tuple[uuid.UUID, str], uuid.UUID] = {}
    result = []
    for row in rows:
        name = _nfc(row.name, NAME_MAX_LENGTH, f"the name of list {row.id}")
        key, renamed, number = keys.name_key(name), name, 1
        while (row.user_id, key) in taken or len(key) > NAME_KEY_MAX_LENGTH:
            number += 1
            suffix = f" ({number})"
            renamed = name[: NAME_MAX_LENGTH - len(suffix)] + suffix
            key = keys.name_key(renamed)
        if renamed != name:
            other = taken.get((row.user_id, keys.name_key(name)))
            log.warning(
                "migration 0010: list %s of user %s renamed from %r to %r: its name is the "
                "same as list %s's once normalised",
                row.id,
                row.user_id,
                row.name,
                renamed,
                other,
            )
        taken[(row.user_id, key)] = row.id
        result.append({"list_id": row.id, "new_name": renamed, "key": key, "old": row.name})
    return result


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column(
        "tasks", sa.Column("title_key", sa.Text(), server_default=sa.text("''"), nullable=False)
    )
    op.add_column("tasks", sa.Column("description_key", sa.Text(), nullable=True))

    paused = pause_stamps(conn, ("tasks", "lists"))
    changed_tasks = _normalise_tasks(conn)
    renamed_lists = _normalise_lists(conn)
    by_id = lists.c.id == sa.bindparam("list_id")
    # Every key out of the way first, so that no new key meets another list's old one.
    if renamed_lists:
        conn.execute(
            sa.update(lists).where(by_id).values(name_key=sa.bindparam("placeholder")),
            [{"list_id": r["list_id"], "placeholder": f"#{r['list_id']}"} for r in renamed_lists],
        )
        conn.execute(
            sa.update(lists).where(by_id).values(name_key=sa.bindparam("key")), renamed_lists
        )
    resume_stamps(conn, paused)

    # Text that changes is written with the triggers on: stamped for the feed, tags indexed.
    names = [r for r in renamed_lists if r["new_name"] != r["old"]]
    if names:
        conn.execute(sa.update(lists).where(by_id).values(name=sa.bindparam("new_name")), names)
    if changed_tasks:
        conn.execute(
            sa.update(tasks)
            .where(tasks.c.id == sa.bindparam("task_id"))
            .values(
                title=sa.bindparam("new_title"),
                description=sa.bindparam("new_desc"),
                tags=sa.bindparam("new_tags", type_=TAGS),
            ),
            changed_tasks,
        )


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(lists.c.id, lists.c.name)).all()
    if rows:
        conn.execute(
            sa.update(lists)
            .where(lists.c.id == sa.bindparam("list_id"))
            .values(name_key=sa.bindparam("key")),
            [{"list_id": row.id, "key": row.name.lower()} for row in rows],
        )
    op.drop_column("tasks", "description_key")
    op.drop_column("tasks", "title_key")
