"""Statements compiled once per dialect: SQL text, parameter order and the type processors
SQLAlchemy itself would apply, so that what the driver writes and reads is what SQLAlchemy
would write and read; rows come back as plain dicts."""

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from typing import Any

from sqlalchemy import Insert, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.types import JSON

from todo_api.db.types import UTCDateTime, aware


class RefusedText(ValueError):
    """Text holding NUL, which PostgreSQL cannot store (and SQLite, alike, is not given): every
    input is checked where it is read, and this is the one place that every value passes on
    its way to either database, whatever route, header, file or protocol it came from.
    `name` is the statement's parameter (for an INSERT or UPDATE, the column's name)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name}: must not contain the NUL character")
        self.name = name


class Row(dict[str, Any]):
    """A row: a dict of its columns, whose columns also read as attributes (`row.title`)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def _asdict(self) -> dict[str, Any]:
        return dict(self)


@dataclass(frozen=True, slots=True)
class Compiled:
    """A statement as one dialect runs it: SQL text, parameter order, type processors."""

    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]
    binds: Mapping[str, Callable[[Any], Any]]
    columns: tuple[str, ...]
    converters: tuple[tuple[int, Callable[[Any], Any]], ...]
    returns_rows: bool
    custom_plans: bool = False  # planned for each call's values (see Query)
    any_plan: bool = False  # runs in whichever plan mode the session is in (see Query)
    # The pickers made for `picked`, by the names they pick.
    _pickers: dict[tuple[str, ...], Callable[[Sequence[Any]], list[Any]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # The place of each parameter that has a bind processor, and the processor.
    _binds_at: tuple[tuple[int, Callable[[Any], Any]], ...] = field(
        init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        binds = tuple(
            (i, self.binds[name]) for i, name in enumerate(self.names) if name in self.binds
        )
        object.__setattr__(self, "_binds_at", binds)

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        defaults = self.defaults
        args = [params[name] if name in params else defaults[name] for name in self.names]
        for value in args:
            if value.__class__ is str and "\x00" in value:
                raise RefusedText(self._name_of(args, value))
        for index, bind in self._binds_at:
            args[index] = bind(args[index])
        return args

    def _name_of(self, args: list[Any], value: Any) -> str:
        return next(name for name, arg in zip(self.names, args, strict=True) if arg is value)

    def rows(self, records: Any) -> list[Row]:
        columns, converters = self.columns, self.converters
        if not converters:
            return [Row(zip(columns, record, strict=True)) for record in records]
        rows = []
        for record in records:
            values = list(record)
            for index, convert in converters:
                values[index] = convert(values[index])
            rows.append(Row(zip(columns, values, strict=True)))
        return rows

    def picked(self, records: Sequence[Any], names: tuple[str, ...]) -> list[Any]:
        """The values of the columns `names` (at least two), in that order, of each record,
        through the same result processors as `rows`: one sequence per record, and no
        dict of every column on the way (a page of tasks written as JSON)."""
        picker = self._pickers.get(names)
        if picker is None:
            picker = self._pickers[names] = self._picker(names)
        return picker(records)

    def _picker(self, names: tuple[str, ...]) -> Callable[[Sequence[Any]], list[Any]]:
        if len(names) < 2:
            raise ValueError("pick two columns or more")
        indexes = [self.columns.index(name) for name in names]  # ValueError: not a column
        get = operator.itemgetter(*indexes)
        converters = dict(self.converters)
        converting = tuple(
            (place, converters[index]) for place, index in enumerate(indexes) if index in converters
        )
        if not converting:
            return lambda records: [get(record) for record in records]

        def pick(records: Sequence[Any]) -> list[Any]:
            found = []
            for record in records:
                values = list(get(record))
                for place, convert in converting:
                    values[place] = convert(values[place])
                found.append(values)
            return found

        return pick


def _dumps_json(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A JSON column's bind processor (`json.dumps`), with a list of strings (tags, an empty
    list of reminders) written directly: the same text as `json.dumps`'s, without its
    encoder's set-up on every value."""

    def dumps(value: Any) -> Any:
        if value.__class__ is list and all(item.__class__ is str for item in value):
            return f"[{', '.join(map(encode_basestring_ascii, value))}]"
        return process(value)

    return dumps


def compile_for(
    statement: ClauseElement,
    dialect: Dialect,
    *,
    prebuilt: bool,
    custom_plans: bool = False,
    any_plan: bool = False,
) -> Compiled:
    """Compile for one dialect. A per-call statement carries its values (an IN list of values
    becomes a parameter per value); a prebuilt one names its parameters with `bindparam`, given
    at each call. Each parameter goes through its type's bind processor, each column through
    its result processor, as SQLAlchemy's own execution would."""
    compiled: Any = statement.compile(dialect=dialect)
    sql, names, values, processors = compiled.string, compiled.positiontup, compiled.params, {}
    if not prebuilt:
        expanded = compiled.construct_expanded_state(escape_names=False)
        sql, names, values = expanded.statement, expanded.positiontup, expanded.parameters
        processors = dict(expanded.processors)  # those of the IN lists' values only
    names = tuple(names or ())
    defaults = {
        name: values[name] for name in names if not (prebuilt and compiled.binds[name].required)
    }
    for name in names:
        if name not in processors and name in compiled.binds:
            type_ = compiled.binds[name].type.dialect_impl(dialect)
            processors[name] = type_.bind_processor(dialect)
            if dialect.name == "postgresql" and isinstance(type_, UTCDateTime):
                # asyncpg writes an aware datetime of any zone as its instant: UTCDateTime's
                # conversion to UTC changes nothing there; its refusal of a naive one stays.
                processors[name] = aware
            # (the service's dialects keep SQLAlchemy's JSON serializer, json.dumps)
            if isinstance(type_, JSON) and processors[name] is not None:
                processors[name] = _dumps_json(processors[name])
    binds = {name: proc for name, proc in processors.items() if proc is not None}
    columns: list[str] = []
    converters: list[tuple[int, Callable[[Any], Any]]] = []
    # SQLAlchemy keeps the result columns (name and type) only in this private attribute;
    # tests/test_private_api.py checks it is still there.
    for index, (keyname, _name, _objects, type_) in enumerate(compiled._result_columns):
        columns.append(keyname)
        convert = type_.dialect_impl(dialect).result_processor(dialect, None)
        if dialect.name == "postgresql" and isinstance(type_, UTCDateTime | JSON):
            # asyncpg gives timestamptz as aware UTC already, and json and jsonb parsed (the
            # codecs the pool's sessions set: todo_api.db.database)
            convert = None
        if convert is not None:
            converters.append((index, convert))
    return Compiled(
        sql=sql,
        names=names,
        defaults=defaults,
        binds=binds,
        columns=tuple(columns),
        converters=tuple(converters),
        returns_rows=bool(columns),
        custom_plans=custom_plans,
        any_plan=any_plan,
    )


class Query:
    """A statement built once (at import), compiled once per dialect on first use.

    On PostgreSQL its prepared statement is kept per connection, and PostgreSQL's default
    (`plan_cache_mode=auto`) soon reuses one generic plan for every call: no planning per
    request. A statement whose best plan depends on the values (a filtered list: how many of
    this user's tasks match decides between walking the sort's index and sorting the matches)
    says `custom_plans=True`, and is planned for each call's values. Switching a session from
    one mode to the other is a round trip: a statement whose plan is the same whatever the
    values (a lookup by key) says `any_plan=True`, and runs in the mode the session is in (a
    page that reads such statements around its custom-planned ones switches once, not at each
    change of kind)."""

    __slots__ = ("_by_dialect", "any_plan", "custom_plans", "statement")

    def __init__(
        self, statement: ClauseElement, *, custom_plans: bool = False, any_plan: bool = False
    ) -> None:
        self.statement = statement
        self.custom_plans = custom_plans
        self.any_plan = any_plan
        self._by_dialect: dict[str, Compiled] = {}

    def compiled(self, dialect: Dialect) -> Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = compile_for(
                self.statement,
                dialect,
                prebuilt=True,
                custom_plans=self.custom_plans,
                any_plan=self.any_plan,
            )
        return found


def insert_bound(table: Table, *bound: str, **values: Any) -> Insert:
    """An INSERT into `table` where each `bound` column takes the call's parameter of its own
    name, and the other columns the given values (constants, or parameters of another name)."""
    return insert(table).values({**{name: bindparam(name) for name in bound}, **values})
