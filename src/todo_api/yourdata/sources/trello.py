"""A Trello board's JSON export (the board's menu → Print, export and share → Export as JSON):
`{"name", "lists": [...], "cards": [...], "checklists": [...], "labels": [...],
"actions": [...]}`.

The board becomes one new list whose sections are the board's lists (`?trello=lists`: a list
each instead), in their `pos` order. A card is a task in its list's section, in `pos` order:
`name` the title, `desc` the description with the links of its `attachments` after it, `due`
the due time, its labels tags (a label's name, else its colour), `closed` (archived) or
`dueComplete` completed, the time in its id its creation. Each item of its checklists is a
subtask (`state` complete: completed), and each `commentCard` action a comment, oldest first.
Archived lists' cards are imported completed. Members, votes, stickers and custom fields are
Trello's and are left out.
"""

from datetime import UTC, datetime
from typing import Any

from todo_api.kit.errors import InvalidRequest
from todo_api.tables.tasks import DESCRIPTION_MAX_LENGTH
from todo_api.yourdata.records import ImportedList, ImportedTask, Parsed, Skipped, Where
from todo_api.yourdata.sources.documents import file_stem, items, json_document

DEFAULT_LIST = "Trello board"
BOARD_KEY = "board"
COLUMNS = {"title": "name", "description": "desc", "due_at": "due", "tags": "labels"}


def looks_like(document: dict[str, Any]) -> bool:
    return isinstance(document.get("cards"), list) and isinstance(document.get("lists"), list)


def parse(body: bytes, options: dict[str, str]) -> Parsed:
    document = json_document(body, "a Trello board's JSON export")
    if not looks_like(document):
        raise InvalidRequest(
            'The file is not a Trello board export: it needs "lists" and "cards" arrays'
        )
    as_lists = options.get("trello") == "lists"
    parsed = Parsed()
    board_name = options.get("list") or _text(document.get("name")) or file_stem(options)
    board = ImportedList(key=BOARD_KEY, name=board_name or DEFAULT_LIST, name_field="list")
    if not as_lists:
        parsed.lists.append(board)
    closed_lists: set[str] = set()
    known: set[str] = set()
    ordered = sorted(
        ((i, trello_list) for i, trello_list in enumerate(document["lists"])),
        key=lambda pair: _position(pair[1]),
    )
    for index, trello_list in ordered:
        where: Where = ("index", f"lists[{index}]")
        if not isinstance(trello_list, dict) or not isinstance(trello_list.get("id"), str):
            parsed.skipped.append(Skipped(where, "a list without an id"))
            continue
        key = trello_list["id"]
        known.add(key)
        if trello_list.get("closed"):
            closed_lists.add(key)
        name = _text(trello_list.get("name")) or "Untitled"
        if as_lists:
            parsed.lists.append(ImportedList(key=key, name=name, where=where))
        else:
            board.sections.append((key, name))
            board.section_where[key] = where
    labels = {
        label["id"]: _label_name(label)
        for label in items(document.get("labels"))
        if isinstance(label, dict) and isinstance(label.get("id"), str)
    }
    checklists = _checklists(document)
    comments = _comments(document)
    for index, card in enumerate(document["cards"]):
        where = ("index", f"cards[{index}]")
        if not isinstance(card, dict) or not isinstance(card.get("id"), str):
            parsed.skipped.append(Skipped(where, "a card without an id"))
            continue
        in_list = card.get("idList")
        if in_list not in known:
            parsed.skipped.append(Skipped(where, "its list is not in the file: left out"))
            continue
        task = _card(where, card, labels, in_list in closed_lists)
        task.list_key = in_list if as_lists else BOARD_KEY
        task.section_key = None if as_lists else in_list
        task.comments = comments.get(card["id"], [])
        parsed.tasks.append(task)
        parsed.tasks += _subtasks(task, checklists.get(card["id"], []))
    return parsed


def _card(where: Where, card: dict[str, Any], labels: dict[str, str | None], archived: bool) -> Any:
    fields: dict[str, Any] = {"title": card.get("name")}
    description = _text(card.get("desc"))
    links = [
        f"- {_text(item.get('name')) or item['url']}: {item['url']}"
        for item in items(card.get("attachments"))
        if isinstance(item, dict) and isinstance(item.get("url"), str)
    ]
    if links:
        description = "\n\n".join(filter(None, [description, "Attachments:\n" + "\n".join(links)]))
    if description:
        fields["description"] = description[:DESCRIPTION_MAX_LENGTH]
    if card.get("due") is not None:
        fields["due_at"] = card["due"]
    names = [labels.get(i) for i in items(card.get("idLabels")) if isinstance(i, str)]
    names += [_label_name(label) for label in items(card.get("labels")) if isinstance(label, dict)]
    tags = list(dict.fromkeys(name for name in names if name))
    if tags:
        fields["tags"] = tags
    if card.get("closed") or card.get("dueComplete") or archived:
        fields["is_completed"] = True
    return ImportedTask(
        where=where,
        fields=fields,
        key=card["id"],
        order=_position(card),
        created=_id_time(card["id"]),
        columns=COLUMNS,
    )


def _subtasks(card: ImportedTask, lists: list[tuple[str, dict[str, Any]]]) -> list[ImportedTask]:
    """Each item of the card's checklists, in order, a subtask of the card's task."""
    made: list[ImportedTask] = []
    for where, checklist in sorted(lists, key=lambda pair: _position(pair[1])):
        check_items = [i for i in items(checklist.get("checkItems")) if isinstance(i, dict)]
        for number, item in enumerate(sorted(check_items, key=_position)):
            fields: dict[str, Any] = {"title": item.get("name")}
            if item.get("state") == "complete":
                fields["is_completed"] = True
            made.append(
                ImportedTask(
                    where=("index", f"{where}.checkItems[{number}]"),
                    fields=fields,
                    list_key=card.list_key,
                    section_key=card.section_key,
                    key=f"{card.key}/{item.get('id') or number}",
                    parent_key=card.key,
                    order=len(made),
                    columns=COLUMNS,
                )
            )
    return made


def _checklists(document: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The board's checklists by the card they are on (the export lists them apart)."""
    by_card: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for index, checklist in enumerate(items(document.get("checklists"))):
        if isinstance(checklist, dict) and isinstance(checklist.get("idCard"), str):
            where = f"checklists[{index}]"
            by_card.setdefault(checklist["idCard"], []).append((where, checklist))
    return by_card


def _comments(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The comments (`commentCard` actions) by card, oldest first (the export is newest
    first)."""
    by_card: dict[str, list[dict[str, Any]]] = {}
    for action in reversed(items(document.get("actions"))):
        if not isinstance(action, dict) or action.get("type") != "commentCard":
            continue
        data = action.get("data")
        card = data.get("card") if isinstance(data, dict) else None
        if isinstance(data, dict) and isinstance(card, dict) and isinstance(card.get("id"), str):
            comment = {"body": data.get("text"), "created_at": action.get("date")}
            by_card.setdefault(card["id"], []).append(comment)
    return by_card


def _label_name(label: dict[str, Any]) -> str | None:
    return _text(label.get("name")) or _text(label.get("color"))


def _position(item: Any) -> float:
    position = item.get("pos") if isinstance(item, dict) else None
    return float(position) if isinstance(position, int | float) else 0.0


def _id_time(trello_id: str) -> datetime | None:
    """When Trello made the card: its id begins with the Unix time in hex (a MongoDB id)."""
    try:
        return datetime.fromtimestamp(int(trello_id[:8], 16), UTC) if len(trello_id) == 24 else None
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
