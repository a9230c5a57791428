"""What a client sends and gets back for tasks."""

import operator
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from todo_api.kit import events, reminders, text
from todo_api.kit.inputs import (
    UUID_EXAMPLE,
    Change,
    Input,
    Move,
    change_schema,
    refuse_null,
)
from todo_api.kit.zones import ZoneName
from todo_api.tables import keys
from todo_api.tables.reminders import REMINDERS_MAX_COUNT
from todo_api.tables.tasks import (
    DESCRIPTION_MAX_LENGTH,
    RECURRENCE_MAX_LENGTH,
    TAG_MAX_LENGTH,
    TAGS_MAX_COUNT,
    TITLE_MAX_LENGTH,
    Priority,
)
from todo_api.tasks import recurrence

PriorityName = Literal["none", "low", "medium", "high"]

_RFC3339_START = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


OUT_OF_RANGE = "must fall between the years 1 and 9999 once converted to UTC"


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-02:00, 0001-01-01T00:00:00+01:00
        raise ValueError(OUT_OF_RANGE) from None


def _unique_tags(tags: list[str]) -> list[str]:
    unique = list(dict.fromkeys(tags))  # duplicates after normalising are dropped, order kept
    if len(unique) > TAGS_MAX_COUNT:
        raise ValueError(f"at most {TAGS_MAX_COUNT} tags")
    return unique


Title = Annotated[
    str,
    AfterValidator(text.line(TITLE_MAX_LENGTH)),
    Field(
        description=f"1 to {TITLE_MAX_LENGTH} characters once trimmed and in NFC; no control "
        "characters, and at least one visible one",
        examples=["Buy milk"],
        json_schema_extra=text.documented(text.LINE_PATTERN, TITLE_MAX_LENGTH, min_length=1),
    ),
]
Description = Annotated[
    str,
    AfterValidator(text.paragraph(DESCRIPTION_MAX_LENGTH)),
    Field(
        description=f"At most {DESCRIPTION_MAX_LENGTH} characters in NFC; no control characters "
        "but tab and line breaks",
        examples=["Two litres, semi-skimmed"],
        json_schema_extra=text.documented(text.DESCRIPTION_PATTERN, DESCRIPTION_MAX_LENGTH),
    ),
]
Tag = Annotated[
    str,
    AfterValidator(text.tag(TAG_MAX_LENGTH)),
    Field(json_schema_extra=text.documented(text.LINE_PATTERN, TAG_MAX_LENGTH, min_length=1)),
]


def _few_tags(value: Any) -> Any:
    # Before the items are read, so that a list of a million bad items is one error, not a
    # million. Duplicates are dropped later; no list this long is 20 tags without them.
    if isinstance(value, list) and len(value) > RAW_TAGS_MAX_COUNT:
        raise ValueError(f"at most {TAGS_MAX_COUNT} tags")
    return value


RAW_TAGS_MAX_COUNT = 5 * TAGS_MAX_COUNT


Tags = Annotated[
    list[Tag],
    BeforeValidator(_few_tags),
    AfterValidator(_unique_tags),
    Field(
        description=f"At most {TAGS_MAX_COUNT}; stored trimmed, case-folded, without "
        f"duplicates; each at most {TAG_MAX_LENGTH} characters once folded",
        examples=[["groceries", "errands"]],
        json_schema_extra={"maxItems": TAGS_MAX_COUNT},
    ),
]


def _rule(value: str) -> str:
    try:
        return str(recurrence.parse(value))
    except recurrence.InvalidRule as exc:
        raise ValueError(str(exc)) from None


Recurrence = Annotated[
    str,
    Field(
        max_length=RECURRENCE_MAX_LENGTH,
        description="An RRULE (RFC 5545) with FREQ DAILY, WEEKLY, MONTHLY or YEARLY and the "
        "parts RFC 5545 allows with it: INTERVAL, BYMONTH, BYWEEKNO, BYYEARDAY, BYMONTHDAY, "
        "BYDAY (ordinals such as -1FR in monthly and yearly rules), BYHOUR, BYMINUTE and "
        "BYSECOND (one value each), BYSETPOS, WKST, and COUNT or UNTIL. Its occurrences are "
        "dateutil's for the rule started at the series' first due time (without one, its "
        "first start) on the wall clock of the task's timezone; it needs a due_at, a due_date "
        "or a start, and a next occurrence within ten years. Sub-daily frequencies (HOURLY "
        "and finer) are refused. Completing the task creates the next occurrence, which keeps "
        "the gap between start and due.",
        examples=["FREQ=WEEKLY;BYDAY=MO,WE", "FREQ=MONTHLY;BYDAY=-1FR"],
        json_schema_extra={"pattern": recurrence.RULE_PATTERN},
    ),
    AfterValidator(_rule),
]


def _date_time_text(value: Any) -> Any:
    # Pydantic would also take a number, or a string of digits, as a Unix timestamp.
    if not isinstance(value, str) or not _RFC3339_START.match(value):
        raise ValueError("must be an RFC 3339 date-time, such as 2026-12-01T17:00:00Z")
    return value


# An RFC 3339 date-time with an offset, in UTC: in bodies and in the listing's filters alike.
DateTimeText = Annotated[AwareDatetime, BeforeValidator(_date_time_text), AfterValidator(_utc)]
DueAt = Annotated[
    DateTimeText,
    Field(
        description="When the task is due: RFC 3339 with an offset; kept in UTC. Null when "
        "the task is due on a day (due_date)",
        examples=["2026-12-01T17:00:00Z"],
    ),
]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date_text(value: Any) -> Any:
    # Pydantic would also take a number (a Unix time), or a date-time at midnight.
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("must be a date, such as 2026-12-24")
    return value


# A calendar day, YYYY-MM-DD: in bodies and in the listing's `due_on` alike.
DateText = Annotated[date, BeforeValidator(_date_text)]
DueDate = Annotated[
    DateText,
    Field(
        description="The day the task is due, all day, in its timezone (YYYY-MM-DD). Null "
        "when the task is due at a time (due_at): give one or the other",
        examples=["2026-12-24"],
    ),
]
StartAt = Annotated[
    DateTimeText,
    Field(
        description="When work on the task starts: RFC 3339 with an offset; kept in UTC. Not "
        "after the task's due time. Null when it starts on a day (start_date)",
        examples=["2026-11-30T09:00:00Z"],
    ),
]
StartDate = Annotated[
    DateText,
    Field(
        description="The day work on the task starts, all day, in its timezone (YYYY-MM-DD); "
        "not after its due date. Null when it starts at a time (start_at): give one or the "
        "other",
        examples=["2026-12-20"],
    ),
]
TaskZone = Annotated[
    ZoneName,
    Field(
        description="The IANA time zone its due_date, start_date and recurrence are read in; "
        "by default yours (GET /api/auth/me) when it is created. Changing it keeps the due_at "
        "and start_at instants and the due_date and start_date dates"
    ),
]


def _duration(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("before_due must be an ISO 8601 duration, such as PT15M")
    reminders.parse_duration(value)
    return value


class ReminderIn(Input):
    """A reminder: at a moment (`at`), or a while before the task is due (`before_due`, an
    ISO 8601 duration from a minute to 30 days; for an all-day task, before 09:00 of its date
    in its zone). Give one of the two; `id`, when it is one of the task's reminders already,
    keeps it (and whether it fired)."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["at"], "properties": {"at": {"type": "string"}}},
                {"required": ["before_due"], "properties": {"before_due": {"type": "string"}}},
            ]
        }
    )

    id: uuid.UUID | None = None
    at: DateTimeText | None = Field(default=None, examples=["2026-12-01T16:45:00Z"])
    before_due: (
        Annotated[
            str,
            BeforeValidator(_duration),
            Field(examples=["PT15M"], json_schema_extra={"pattern": reminders.DURATION_PATTERN}),
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.at is None) == (self.before_due is None):
            raise ValueError("give at or before_due, one of the two")
        return self


def _few_reminders(value: Any) -> Any:
    # Before the items are read: a list of a million is one error.
    if isinstance(value, list) and len(value) > REMINDERS_MAX_COUNT:
        raise ValueError(f"at most {REMINDERS_MAX_COUNT} reminders")
    return value


Reminders = Annotated[
    list[ReminderIn],
    BeforeValidator(_few_reminders),
    Field(
        description=f"At most {REMINDERS_MAX_COUNT}; the whole list is set ([] clears it). A "
        "reminder fires once, as a reminder.fired event (and an email when the service has "
        "a mail server)",
        json_schema_extra={"maxItems": REMINDERS_MAX_COUNT},
    ),
]


class AtReminder(BaseModel):
    id: uuid.UUID
    at: datetime


class BeforeDueReminder(BaseModel):
    id: uuid.UUID
    before_due: str = Field(examples=["PT15M"])


# No example id in the document for a list or parent: whatever it showed would name none of
# the reader's (400); left out, a task goes to the inbox, at the top level.
ListId = Annotated[
    uuid.UUID,
    Field(description="One of your lists, or one shared with you to edit; null: your inbox"),
]
AssigneeId = Annotated[
    uuid.UUID,
    Field(
        description="A user who can see the task: a member of its list (in your inbox, only "
        "you); null: nobody",
        examples=[UUID_EXAMPLE],
    ),
]
SectionId = Annotated[
    uuid.UUID,
    Field(
        description="A section of the task's list (a subtask is in its parent's); null: none",
    ),
]
ParentId = Annotated[
    uuid.UUID,
    Field(
        description="A top-level task of yours, whose subtask this is (in its list); null: "
        "top level",
    ),
]


def _kinds(names: tuple[str, ...], *, required: bool) -> list[dict[str, Any]]:
    """One schema per field of `names`: it is a string (and, `required`, given)."""
    kinds = []
    for name in names:
        kind: dict[str, Any] = {"properties": {name: {"type": "string"}}}
        if required:
            kind["required"] = [name]
        kinds.append(kind)
    return kinds


def _both(first: str, second: str) -> dict[str, Any]:
    return {
        "properties": {first: {"type": "string"}, second: {"type": "string"}},
        "required": [first, second],
    }


_DUE = ("due_at", "due_date")
_WHEN = (*_DUE, "start_at", "start_date")


def _due_rules(*, required: bool) -> dict[str, Any]:
    """OpenAPI: `due_at` and `due_date` are never both strings, nor `start_at` and
    `start_date`; with `recurrence` a string, one of the four is a string (and, on create,
    given); on update, one left out must already be on the task."""
    given = {"properties": {"recurrence": {"type": "string"}}, "required": ["recurrence"]}
    return {
        "if": given,
        "then": {"anyOf": _kinds(_WHEN, required=required)},
        "not": {"anyOf": [_both(*_DUE), _both("start_at", "start_date")]},
    }


# A reminder `before_due` in the body (on create, it needs a due time there too).
_REMINDED_BEFORE_DUE = {
    "properties": {"reminders": {"contains": {"required": ["before_due"]}}},
    "required": ["reminders"],
}


def _create_schema(schema: dict[str, Any]) -> None:
    schema.update(_due_rules(required=True))
    due = {"anyOf": _kinds(_DUE, required=True)}
    schema["allOf"] = [{"if": _REMINDED_BEFORE_DUE, "then": due}]
    # Left out, the zone is the user's; null is no zone.
    zone = schema["properties"]["timezone"]
    zone.update(next(o for o in zone.pop("anyOf") if o.get("type") != "null"))
    zone.pop("default", None)


class TaskCreate(Input):
    model_config = ConfigDict(json_schema_extra=_create_schema)

    list_id: ListId | None = None
    parent_id: ParentId | None = None
    section_id: SectionId | None = None
    title: Title
    description: Description | None = None
    is_completed: StrictBool = False
    priority: PriorityName = "none"
    due_at: DueAt | None = None
    due_date: DueDate | None = None
    start_at: StartAt | None = None
    start_date: StartDate | None = None
    timezone: TaskZone | None = None
    tags: Tags = Field(default_factory=list)
    recurrence: Recurrence | None = None
    assignee_id: AssigneeId | None = None
    reminders: Reminders = Field(default_factory=list)

    _not_null = field_validator("timezone")(refuse_null)


_NOT_CLEARED = ("title", "is_completed", "priority", "tags", "timezone", "reminders")


class TaskUpdate(Change):
    """A partial change: fields left out stay as they are; `description`, `due_at`,
    `due_date`, `start_at`, `start_date` and `recurrence` can be cleared with null, `list_id`
    (the inbox), `parent_id` (the top level) and `section_id` too. A task changing list or
    parent goes last there (and leaves its section, unless one of the new list is named); one
    given a due_at is no longer due all day, and the other way round (a start likewise)."""

    model_config = ConfigDict(
        json_schema_extra=change_schema(*_NOT_CLEARED, also=_due_rules(required=False))
    )

    list_id: ListId | None = None
    parent_id: ParentId | None = None
    section_id: SectionId | None = None
    title: Title | None = None
    description: Description | None = None
    is_completed: StrictBool | None = None
    priority: PriorityName | None = None
    due_at: DueAt | None = None
    due_date: DueDate | None = None
    start_at: StartAt | None = None
    start_date: StartDate | None = None
    timezone: TaskZone | None = None
    tags: Tags | None = None
    recurrence: Recurrence | None = None
    assignee_id: AssigneeId | None = None
    reminders: Reminders | None = None

    _not_null = field_validator(*_NOT_CLEARED)(refuse_null)


class TaskMove(Move):
    """Where a task goes: `list_id`, `parent_id` and `section_id` left out stay as they are
    (or follow the task named by before/after; another list: no section), null is the inbox /
    the top level / no section; right before or right after another task, or (neither) last."""

    list_id: ListId | None = None
    parent_id: ParentId | None = None
    section_id: SectionId | None = None

    def placement(self) -> dict[str, uuid.UUID | None]:
        """The list, parent and section the move names (those left out are absent)."""
        return {
            name: getattr(self, name)
            for name in ("list_id", "parent_id", "section_id")
            if name in self.model_fields_set
        }


class CompletionRead(BaseModel):
    """One completed occurrence of a repeating task."""

    occurrence: datetime | date | None = Field(
        description="The occurrence completed: its due time, or its date when all-day (without "
        "a due, its start)",
        examples=["2026-03-02T09:00:00Z"],
    )
    completed_at: datetime = Field(description="When it was completed")
    completed_by: uuid.UUID | None = Field(description="Who completed it")


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    list_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    section_id: uuid.UUID | None = Field(
        description="The section of its list it is in; null: none", examples=[None]
    )
    position: int = Field(description="Opaque: compare positions only with sort=position")
    title: str
    description: str | None
    is_completed: bool
    priority: PriorityName
    due_at: datetime | None = Field(description="When it is due; null for an all-day task")
    due_date: date | None = Field(description="The day it is due, all day; null for a timed task")
    start_at: datetime | None = Field(
        description="When work on it starts; null when it starts on a day (start_date) or has "
        "no start"
    )
    start_date: date | None = Field(
        description="The day work on it starts, all day; null when it starts at a time or has "
        "no start"
    )
    timezone: str = Field(
        description="The zone its due_date, start_date and recurrence are read in",
        examples=["Europe/Berlin"],
    )
    tags: list[str]
    recurrence: str | None
    reminders: list[AtReminder | BeforeDueReminder]
    completed_at: datetime | None
    created_by: uuid.UUID | None = Field(
        description="Who created the task", examples=[UUID_EXAMPLE]
    )
    completed_by: uuid.UUID | None = Field(
        description="Who completed it; null while open", examples=[UUID_EXAMPLE]
    )
    assignee_id: uuid.UUID | None = Field(
        description="Whom it is assigned to; null: nobody", examples=[UUID_EXAMPLE]
    )
    comment_count: int = Field(description="How many comments it has", examples=[2])
    created_at: datetime
    updated_at: datetime

    @field_validator("priority", mode="before")
    @classmethod
    def _priority_name(cls, value: Any) -> Any:
        return Priority(value).name if isinstance(value, int) else value


# The response's fields, in order, and how a stored priority number reads. TaskRead is the
# one list of what a task shows: a field added there is read from the column of its name
# (every task statement reads every column of `tasks`) and written by task_body and
# shown_tasks alike; tests/tasks/test_task_body.py holds them to TaskRead's own JSON.
TASK_FIELDS = tuple(TaskRead.model_fields)
PRIORITY_NAMES = tuple(p.name for p in sorted(Priority))
_task_values = operator.itemgetter(*TASK_FIELDS)


def task_body(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored task as the API shows it (TaskRead's shape, without validating it again)."""
    return _shown(_task_values(row))


def shown_tasks(values: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """Tasks as the API shows them from their TASK_FIELDS' values, in that order (a page's
    `Result.picked(TASK_FIELDS)`): task_body without a row of every column first."""
    return [_shown(task) for task in values]


def _shown(values: Sequence[Any]) -> dict[str, Any]:
    body = dict(zip(TASK_FIELDS, values, strict=True))
    body["priority"] = PRIORITY_NAMES[body["priority"]]
    if body["due_date"] is not None:  # the stored due_at is the instant the date starts
        body["due_at"] = None
    if body["start_date"] is not None:  # likewise
        body["start_at"] = None
    return body


events.shows_tasks_as(task_body)  # for the task events other domains record


def stored_values(data: TaskCreate | TaskUpdate) -> dict[str, Any]:
    """The columns a create or an update writes (priority names become their stored numbers,
    title and description bring their search keys). The fields as they are, but for the
    reminders (models become dicts), as `model_dump` would give them, without its cost for the
    rest: a change's fields given, in the model's order, or every field of a create."""
    change = isinstance(data, TaskUpdate)
    fields = data.__dict__  # pydantic keeps a model's field values there, in the fields' order
    if change:
        given = data.model_fields_set
        values = {name: value for name, value in fields.items() if name in given}
    else:
        values = dict(fields)
    if values.get("reminders"):
        values["reminders"] = [r.model_dump(exclude_unset=change) for r in values["reminders"]]
    if "priority" in values:
        values["priority"] = Priority[values["priority"]]
    # What a search compares, computed once here rather than per row per request.
    if "title" in values:
        values["title_key"] = keys.search_key(values["title"])
    if "description" in values:
        description = values["description"]
        values["description_key"] = None if description is None else keys.search_key(description)
    return values


# Bulk: up to MAX_BULK_OPERATIONS operations, applied all or none.

MAX_BULK_OPERATIONS = 100


class BulkCreate(Input):
    op: Literal["create"]
    data: TaskCreate


class BulkUpdate(Input):
    op: Literal["update"]
    id: uuid.UUID
    data: TaskUpdate


class BulkAction(Input):
    op: Literal["complete", "reopen", "delete"]
    id: uuid.UUID


BulkOperation = Annotated[BulkCreate | BulkUpdate | BulkAction, Field(discriminator="op")]


class BulkRequest(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "operations": [
                        {"op": "create", "data": {"title": "Buy milk"}},
                        {"op": "update", "id": UUID_EXAMPLE, "data": {"priority": "high"}},
                        {"op": "complete", "id": UUID_EXAMPLE},
                    ]
                }
            ]
        },
    )

    operations: Annotated[list[BulkOperation], Field(min_length=1, max_length=MAX_BULK_OPERATIONS)]


class BulkResult(BaseModel):
    op: Literal["create", "update", "complete", "reopen", "delete"]
    id: uuid.UUID
    status: int = Field(description="201 created, 200 changed, 204 deleted")
    task: TaskRead | None


class BulkResponse(BaseModel):
    results: list[BulkResult]


QUICK_TEXT_MAX_LENGTH = 1000
Language = Literal["en", "de", "fr", "es", "it", "pt", "nl"]


class QuickAdd(Input):
    """A task as a person types it: `Pay rent every month on the 1st #Home p1`."""

    text: str = Field(
        min_length=1,
        max_length=QUICK_TEXT_MAX_LENGTH,
        description="The task in words: its title with a date or recurrence, `#list` (or "
        '`#"Two words"`), `/section` of that list (or of `list_id`), `@tags` and `p1`..`p4` '
        "anywhere in it; text in double quotes or after a backslash is never read",
        examples=["Pay rent every month on the 1st #Home p1"],
    )
    list_id: ListId | None = None
    lang: Language | None = Field(
        default=None,
        description="The language of the dates (English is read too); by default the one "
        "the user's profile says (`language`), else the first of these the request's "
        "Accept-Language names, else en",
    )


class ParsedSpan(BaseModel):
    start: int = Field(description="The first character of `text` read (0-based)")
    end: int = Field(description="The character after the last one read")
    kind: Literal["due", "recurrence", "list", "section", "tag", "priority"]
    value: str = Field(
        description="What it was read as: a date or date-time, an RRULE, a list's name, a "
        "section's name, a tag, a priority"
    )


class QuickAddRead(TaskRead):
    parsed: list[ParsedSpan]


class QuickPreview(BaseModel):
    """What quick add would make of the text: the fields it would set (those it would leave
    to their defaults are left out), and the spans read. Nothing is written."""

    title: str = Field(examples=["Pay rent"])
    list_id: uuid.UUID | None = Field(default=None, description="The list `#name` names")
    section_id: uuid.UUID | None = Field(
        default=None, description="The section of the list `/name` names"
    )
    priority: PriorityName | None = Field(default=None, examples=["high"])
    tags: list[str] = Field(default_factory=list, examples=[["home"]])
    due_at: datetime | None = None
    due_date: date | None = Field(default=None, examples=["2026-12-01"])
    recurrence: str | None = Field(default=None, examples=["FREQ=MONTHLY;BYMONTHDAY=1"])
    timezone: str = Field(description="Your time zone, the task's", examples=["Europe/Berlin"])
    parsed: list[ParsedSpan]


class FilterGroup(BaseModel):
    query: str = Field(description="The group's query, as written", examples=["overdue"])
    tasks: list[TaskRead] = Field(description="The group's first page")
    next_cursor: str | None = Field(
        description="When more of the group's tasks match: the cursor for the next page, with "
        "this group's query alone as `filter`"
    )


class FilterGroups(BaseModel):
    """A filter of several groups apart by `,` (`today, overdue`): each group's first page."""

    groups: list[FilterGroup]
