"""The activity of a task or a list in words ("Ana completed Pay rent", "You changed the due
date to 3 May"), in the page's language: every sentence the activity pages show is here."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from babel import dates as babel_dates

from todo_api.web.common.messages import Gettext
from todo_api.web.common.shown import moment_text
from todo_api.web.tasks.task_extras import rule_text


@dataclass(frozen=True, slots=True)
class Reader:
    """What a sentence needs: the words, who reads (`me`), the people's and tasks' names, and
    the reader's clock and language for times."""

    _: Gettext
    me: uuid.UUID
    people: Mapping[str, str]
    titles: Mapping[str, str]
    lists: Mapping[str, str]
    zone: str
    language: str
    sections: Mapping[str, str] = field(default_factory=dict)  # the list's, by id

    def who(self, actor: Any) -> str:
        if actor is None:
            return self._("Someone")
        if str(actor) == str(self.me):
            return self._("You")
        return self.people.get(str(actor)) or self._("Someone")

    def field(self, name: str) -> str:
        _ = self._
        names = {
            "title": _("title"),
            "description": _("description"),
            "priority": _("priority"),
            "due_at": _("due date"),
            "due_date": _("due date"),
            "start_at": _("start"),
            "start_date": _("start"),
            "timezone": _("time zone"),
            "tags": _("tags"),
            "recurrence": _("repetition"),
            "assignee_id": _("assignee"),
            "list_id": _("list"),
            "parent_id": _("parent task"),
            "section_id": _("section"),
            "name": _("name"),
            "color": _("colour"),
            "owner_id": _("owner"),
        }
        return names.get(name, name)

    def value(self, name: str, value: Any) -> str:
        _ = self._
        if name in ("due_at", "start_at"):
            return moment_text(
                value if isinstance(value, datetime) else str(value), self.zone, self.language
            )
        if name in ("due_date", "start_date"):
            day = value if isinstance(value, date) else date.fromisoformat(str(value))
            return babel_dates.format_date(day, "d MMM", locale=self.language)
        if name in ("assignee_id", "owner_id"):
            return self.who(value)
        if name == "list_id":
            return self.lists.get(str(value)) or self._("another list")
        if name == "tags":
            return ", ".join(str(tag) for tag in value) or self._("none")
        if name == "recurrence":
            presets = {
                "FREQ=DAILY": self._("every day"),
                "FREQ=WEEKLY": self._("every week"),
                "FREQ=MONTHLY": self._("every month"),
                "FREQ=YEARLY": self._("every year"),
            }
            if str(value) in presets:
                return presets[str(value)]
            said = rule_text(str(value), self.language)  # "Every 2 weeks, on Monday, ..."
            return said[:1].lower() + said[1:]  # within a sentence
        if name == "parent_id":
            return self.titles.get(str(value)) or self._("another task")
        if name == "section_id":
            return self.sections.get(str(value)) or self._("another section")
        if name == "priority":  # the word the menus show (`Medium`), never the API's value
            words = {"low": _("Low"), "medium": _("Medium"), "high": _("High")}
            return words.get(str(value), _("No priority"))
        return str(value)


def _change(reader: Reader, who: str, name: str, new: Any) -> str:
    _ = reader._
    field = reader.field(name)
    if new is None or new == [] or new == "":
        return _("%(who)s cleared the %(field)s") % {"who": who, "field": field}
    if name == "description":
        return _("%(who)s changed the description") % {"who": who}
    return _("%(who)s changed the %(field)s to %(value)s") % {
        "who": who,
        "field": field,
        "value": reader.value(name, new),
    }


# A due (or start) is a time or a day: one cleared as the other is set is one change, and a
# day comes with its midnight as the time (`due_at`), which says nothing more.
_PARTNER = {
    "due_at": "due_date",
    "due_date": "due_at",
    "start_at": "start_date",
    "start_date": "start_at",
}


def _replaced(name: str, changes: Mapping[str, list[Any]]) -> bool:
    partner = _PARTNER.get(name)
    if partner is None or partner not in changes or changes[partner][1] is None:
        return False
    return changes[name][1] is None or name.endswith("_at")


def sentences(reader: Reader, item: Mapping[str, Any]) -> list[str]:
    """What one activity item says: a sentence, or one per field an update changed."""
    _ = reader._
    who = reader.who(item["actor_id"])
    changes: Mapping[str, list[Any]] = item.get("changes") or {}
    task = reader.titles.get(str(item["task_id"])) or ""
    if not task and "title" in changes:
        task = str(changes["title"][1] or changes["title"][0] or "")
    task = task or _("a task")
    action = item["action"]
    if action == "task.created":
        return [_("%(who)s created %(task)s") % {"who": who, "task": task}]
    if action == "task.emailed":
        sender = str((changes.get("from") or [None, ""])[1] or "")
        return [_("%(task)s came by email from %(sender)s") % {"task": task, "sender": sender}]
    if action == "task.completed":
        return [_("%(who)s completed %(task)s") % {"who": who, "task": task}]
    if action == "task.reopened":
        return [_("%(who)s reopened %(task)s") % {"who": who, "task": task}]
    if action == "task.deleted":
        return [_("%(who)s deleted %(task)s") % {"who": who, "task": task}]
    if action == "task.restored":
        return [_("%(who)s restored %(task)s") % {"who": who, "task": task}]
    if action == "task.moved":
        where = reader.value("list_id", (changes.get("list_id") or [None, None])[1])
        if (changes.get("list_id") or [None, None])[1] is None:
            where = _("Inbox")
        return [_("%(who)s moved %(task)s to %(list)s") % {"who": who, "task": task, "list": where}]
    if action.startswith("section."):
        return [_section_sentence(reader, who, action, changes)]
    if action == "comment.created":
        return [_("%(who)s commented on %(task)s") % {"who": who, "task": task}]
    if action == "comment.deleted":
        return [_("%(who)s deleted a comment on %(task)s") % {"who": who, "task": task}]
    if action in ("attachment.created", "attachment.deleted"):
        name = next((str(value) for value in (changes.get("name") or []) if value), "")
        words = {
            "attachment.created": _("%(who)s added the file %(name)s to %(task)s"),
            "attachment.deleted": _("%(who)s deleted the file %(name)s from %(task)s"),
        }
        return [words[action] % {"who": who, "name": name, "task": task}]
    if action == "member.joined":
        return [_("%(who)s joined the list") % {"who": who}]
    if action == "member.left":
        return [_("%(who)s left the list") % {"who": who}]
    if action == "member.role_changed":
        return [_("%(who)s changed a member's role") % {"who": who}]
    said = [
        _change(reader, who, name, pair[1])
        for name, pair in changes.items()
        if name not in ("timezone", "is_completed") and not _replaced(name, changes)
    ]
    return said or [_("%(who)s changed %(task)s") % {"who": who, "task": task}]


def _section_sentence(
    reader: Reader, who: str, action: str, changes: Mapping[str, list[Any]]
) -> str:
    _ = reader._
    old, new = changes.get("name") or [None, None]
    if action == "section.created":
        return _("%(who)s added the section %(name)s") % {"who": who, "name": new}
    if action == "section.deleted":
        return _("%(who)s deleted the section %(name)s") % {"who": who, "name": old}
    return _("%(who)s renamed the section %(old)s to %(name)s") % {
        "who": who,
        "old": old,
        "name": new,
    }


def when(reader: Reader, at: Any) -> str:
    return moment_text(at, reader.zone, reader.language)
