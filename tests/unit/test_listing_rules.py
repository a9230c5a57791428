"""Listing on its own: filter fingerprints, cursors, and the statement shapes against their
parameters, with no database."""

import dataclasses
import hashlib
import itertools
import json
import uuid
from datetime import UTC, datetime
from typing import Any, get_args

import pytest
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import Dialect

from todo_api.db.statements import compile_for
from todo_api.tables.tasks import Priority
from todo_api.tasks import filter_query
from todo_api.tasks.listing import (
    CursorCodec,
    InvalidCursor,
    ListQuery,
    Sort,
    TaskFilters,
    _json_value,
    parameters,
    shape,
)
from todo_api.tasks.pages import TAGGED, page_query, total_query

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
USER = uuid.UUID("0190a6a4-0000-7000-8000-000000000001")
DIALECTS: list[Dialect] = [
    SQLiteDialect_aiosqlite(),  # type: ignore[no-untyped-call]
    PGDialect_asyncpg(),  # type: ignore[no-untyped-call]
]

# A value other than the default for every filter. A new filter fails the test below until it
# has one here, and so cannot be left out of the fingerprint unnoticed.
CHANGED: dict[str, Any] = {
    "completed": False,
    "priorities": (Priority.high,),
    "tags": ("home",),
    "q": "milk",
    "due_before": NOW,
    "due_after": NOW,
    "overdue": False,
    "list_id": USER,
    "inbox": True,
    "section_id": uuid.UUID("0190a6a4-0000-7000-8000-000000000003"),
    "no_section": True,
    "parent_id": uuid.UUID("0190a6a4-0000-7000-8000-000000000002"),
    "top_level": False,
    "assignee": "me",
    "due_on": NOW.date(),
    "start_before": NOW,
    "start_after": NOW,
    "filter": filter_query.parse("(today | overdue) & #Work & !@home & /Soon")[0].node,
}


def test_every_filter_has_a_changed_value_here() -> None:
    assert set(CHANGED) == {f.name for f in dataclasses.fields(TaskFilters)}


def test_the_fingerprint_is_stable() -> None:
    filters = TaskFilters(priorities=(Priority.low,), tags=("a", "b"), due_after=NOW)
    again = TaskFilters(priorities=(Priority.low,), tags=("a", "b"), due_after=NOW)
    assert filters.fingerprint() == again.fingerprint()
    assert TaskFilters().fingerprint() == TaskFilters().fingerprint()
    assert len(filters.fingerprint()) == 16


def test_the_fingerprint_changes_with_every_filter() -> None:
    prints = {"": TaskFilters().fingerprint()}
    for name, value in CHANGED.items():
        prints[name] = TaskFilters(**{name: value}).fingerprint()
    # Distinct from the default and from one another (due_before and due_after share a value).
    assert len(set(prints.values())) == len(prints), prints


def _fingerprint_as_written_before(filters: TaskFilters) -> str:
    """The fingerprint as it was computed before it read the fields directly (a deep copy of
    them as a tuple): cursors signed then still verify."""
    plain = dataclasses.astuple(dataclasses.replace(filters, filter=None))
    names = [f.name for f in dataclasses.fields(filters)]
    canonical = json.dumps(
        [v for name, v in zip(names, plain, strict=True) if name != "filter"],
        default=_json_value,
    )
    if filters.filter is not None:
        canonical += repr(filters.filter)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@pytest.mark.parametrize("size", [0, 1, 2, len(CHANGED)])
def test_the_fingerprint_is_the_one_earlier_cursors_were_signed_with(size: int) -> None:
    for names in itertools.combinations(CHANGED, size):
        filters = TaskFilters(**{name: CHANGED[name] for name in names})
        assert filters.fingerprint() == _fingerprint_as_written_before(filters)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (TaskFilters(completed=True), TaskFilters(completed=False)),
        (TaskFilters(overdue=True), TaskFilters(overdue=False)),
        (TaskFilters(q=""), TaskFilters()),
        (TaskFilters(tags=("a", "b")), TaskFilters(tags=("a",))),
        (TaskFilters(tags=("ab",)), TaskFilters(tags=("a", "b"))),
        (TaskFilters(priorities=(Priority.low,)), TaskFilters(priorities=(Priority.high,))),
        (TaskFilters(due_before=NOW), TaskFilters(due_before=NOW.replace(second=1))),
        (TaskFilters(top_level=True), TaskFilters(top_level=False)),
        (TaskFilters(list_id=USER), TaskFilters(parent_id=USER)),
        (TaskFilters(list_id=USER), TaskFilters(section_id=USER)),
        (TaskFilters(inbox=True), TaskFilters(no_section=True)),
    ],
)
def test_the_fingerprint_tells_values_of_one_filter_apart(
    one: TaskFilters, other: TaskFilters
) -> None:
    assert one.fingerprint() != other.fingerprint()


@pytest.mark.parametrize(
    ("sort", "last"),
    [
        ("-created_at", [NOW, uuid.uuid4()]),
        ("due_at", [None, uuid.uuid4()]),
        ("title", ["Écrire", uuid.uuid4()]),
        ("-priority", [3, uuid.uuid4()]),
        ("position", [2**40 + 3, uuid.uuid4()]),
    ],
)
def test_a_cursor_reads_back_its_sort_values(sort: Sort, last: list[Any]) -> None:
    codec = CursorCodec("a-secret-for-the-listing-unit-tests-0123456789")
    query = ListQuery(filters=TaskFilters(tags=("x",)), sort=sort)
    assert codec.decode(USER, query, codec.encode(USER, query, last, 150)) == (last, 150)


@pytest.mark.parametrize(
    "other",
    [
        ListQuery(sort="-created_at", filters=TaskFilters(tags=("y",))),
        ListQuery(sort="created_at", filters=TaskFilters(tags=("x",))),
        ListQuery(sort="-created_at", filters=TaskFilters(tags=("x",), q="x")),
    ],
)
def test_a_cursor_fails_under_another_sort_filter_or_user(other: ListQuery) -> None:
    codec = CursorCodec("a-secret-for-the-listing-unit-tests-0123456789")
    query = ListQuery(sort="-created_at", filters=TaskFilters(tags=("x",)))
    token = codec.encode(USER, query, [NOW, uuid.uuid4()], 50)
    with pytest.raises(InvalidCursor):
        codec.decode(USER, other, token)
    with pytest.raises(InvalidCursor):
        codec.decode(uuid.uuid4(), query, token)


def _queries() -> list[tuple[ListQuery, list[Any] | None]]:
    """Every cursor position of: every sort with no filter and with every filter at once, and
    every filter on its own (plus some combinations) under two sorts. A sort and a filter name
    parameters of their own, so each meeting the other at its fullest covers their pairs
    without compiling all of them (several hundred statements a dialect)."""
    filter_sets = [
        *(TaskFilters(**{name: value}) for name, value in CHANGED.items()),
        TaskFilters(completed=True, overdue=True),
        TaskFilters(priorities=(Priority.none, Priority.low, Priority.medium, Priority.high)),
        TaskFilters(tags=("a", "b", "c")),
    ]
    pairs = [
        *itertools.product(get_args(Sort), [TaskFilters(), TaskFilters(**CHANGED)]),
        *itertools.product(["-created_at", "due_at"], filter_sets),
    ]
    found: list[tuple[ListQuery, list[Any] | None]] = []
    for sort, filters in pairs:
        sample: Any = {"title": "t", "priority": 2}.get(sort.removeprefix("-"), NOW)
        for last in (None, [sample, uuid.uuid4()], [None, uuid.uuid4()]):
            found.append((ListQuery(filters=filters, sort=sort, limit=10), last))
    return found


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_every_parameter_a_list_statement_names_has_a_value(dialect: Dialect) -> None:
    for query, last in _queries():
        # TAGGED's count (rare or common first tag) shapes only a list filtered by tags.
        for tagged in (None, 1, 5000) if query.filters.tags else (None,):
            _check_parameters(dialect, query, last, tagged)


def _check_parameters(
    dialect: Dialect, query: ListQuery, last: list[Any] | None, tagged: int | None
) -> None:
    s = shape(query, dialect.name, last, tagged)
    values = parameters(query, USER, NOW, last)
    statements = [page_query(s).statement]
    if not s.q:  # a search is not counted (see listing.TOTAL_COUNT_CAP)
        statements.append(total_query(s).statement)
    if query.filters.tags:
        statements.append(TAGGED.statement)
    for statement in statements:
        compiled = compile_for(statement, dialect, prebuilt=True)
        # Only literals in the statement (the total's cap, `SELECT 1`) carry their own value.
        missing = [
            name for name in compiled.names if name not in values and name not in compiled.defaults
        ]
        assert not missing, (s, missing)
        assert "user_id" in compiled.names


def test_a_shape_does_not_depend_on_the_filter_values() -> None:
    one = ListQuery(filters=TaskFilters(tags=("a", "b"), q="x", due_before=NOW, overdue=True))
    other = ListQuery(filters=TaskFilters(tags=("c", "d"), q="y", due_before=NOW.replace(day=2)))
    assert shape(one, "sqlite", None) != shape(other, "sqlite", None)  # overdue is in the shape
    other = dataclasses.replace(other, filters=dataclasses.replace(other.filters, overdue=True))
    assert shape(one, "sqlite", None) == shape(other, "sqlite", None)
    assert shape(one, "sqlite", [NOW, USER]) == shape(other, "sqlite", [NOW, uuid.uuid4()])
    assert shape(one, "sqlite", [None, USER]) != shape(one, "sqlite", [NOW, USER])
