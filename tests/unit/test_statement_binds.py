"""A compiled statement's parameters as the driver gets them: what SQLAlchemy's own bind
processors would give, on both dialects (the JSON columns' lists of strings are written
without `json.dumps`' set-up, and must come out the same text; PostgreSQL's timestamps are
given to asyncpg as the same instant, in whatever zone they are)."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import Dialect

from todo_api.db.statements import Query, RefusedText
from todo_api.tables.tasks import tasks

DIALECTS = [PGDialect_asyncpg(), SQLiteDialect_aiosqlite()]  # type: ignore[no-untyped-call]
JSON_VALUES: list[Any] = [
    [],
    ["groceries"],
    ["groceries", "errands"],
    ["é", "日本", "\U0001f600", 'q"uo\\te', "\n\t\x01", "\ud800", ""],
    [{"id": "0192f0c1-7a4e-7c3d-9b1a-3f6e2d8c4b5a", "before_due": "PT15M"}],
    ["a", 1],
    [None],
    {"a": []},
    "text",
    None,
]
_WRITE = Query(
    update(tasks).values(tags=bindparam("new_tags"), reminders=bindparam("new_reminders"))
)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize("value", JSON_VALUES, ids=repr)
def test_json_parameters_are_what_sqlalchemy_writes(dialect: Dialect, value: Any) -> None:
    params = {"new_tags": value, "new_reminders": value}
    tags, reminders = _WRITE.compiled(dialect).arguments(params)
    for column, written in (("tags", tags), ("reminders", reminders)):
        process = tasks.c[column].type.dialect_impl(dialect).bind_processor(dialect)
        assert process is not None
        expected = process(value)
        assert written == expected
        assert type(written) is type(expected)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_text_holding_nul_is_refused(dialect: Dialect) -> None:
    with pytest.raises(RefusedText) as refused:
        _WRITE.compiled(dialect).arguments({"new_tags": "a\x00b", "new_reminders": []})
    assert refused.value.name == "new_tags"


_STAMP = Query(update(tasks).values(updated_at=bindparam("new_updated_at")))


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_timestamps_are_the_same_instant_and_never_naive(dialect: Dialect) -> None:
    process = tasks.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)
    compiled = _STAMP.compiled(dialect)
    for zone in (UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))):
        moment = datetime(2026, 3, 29, 1, 30, tzinfo=zone)
        (written,) = compiled.arguments({"new_updated_at": moment})
        expected = process(moment) if process is not None else moment
        assert written == expected
        if dialect.name == "postgresql":  # the instant, aware, as given
            assert written == moment
            assert written.tzinfo is not None
    with pytest.raises(ValueError, match="naive"):
        compiled.arguments({"new_updated_at": datetime(2026, 3, 29, 1, 30)})
