"""A task's own page (`/app/tasks/{id}`), beside the list it is in: every field to change and
save (with the version it showed, so that a save over someone else's change says what they
changed and offers to reload or keep one's own), reminders, subtasks, comments and the
task's activity in words; and a list's activity page (`/app/lists/{id}/activity`). Its title,
due date, priority and list are also changed in place (static/editing.js: the same form post
with fewer fields), and words typed for a date or a rule are read back as one types."""

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from babel import dates as babel_dates
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.collaboration import activity, comments
from todo_api.collaboration.schemas import CommentCreate
from todo_api.db import Connection
from todo_api.files.storage import Files
from todo_api.kit import zones
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ApiError, ErrorCode, NotFound
from todo_api.lists import sections as list_sections
from todo_api.lists import service as lists
from todo_api.lists import sharing
from todo_api.tables.attachments import AttachmentRow
from todo_api.tasks import pages
from todo_api.tasks import service as tasks
from todo_api.tasks.errors import StaleVersion
from todo_api.tasks.listing import CursorCodec, ListQuery, TaskFilters
from todo_api.tasks.schemas import TaskCreate, TaskUpdate, task_body
from todo_api.web.common.messages import Gettext
from todo_api.web.common.shown import now_in, task_line, task_row, week_start
from todo_api.web.common.site import (
    APP,
    Site,
    is_htmx,
    parse_uuid,
    problem,
    redirect,
    user_id,
    zone_of,
)
from todo_api.web.tasks import activity_words, task_form
from todo_api.web.tasks.bulk_pages import INBOX, MOVED_FROM, moved_back
from todo_api.web.tasks.file_pages import (
    REFUSED,
    files_of_task,
    refusal,
    refusal_words,
    remove_uploaded,
    store_chosen,
)
from todo_api.web.tasks.markdown import marked, rendered
from todo_api.web.tasks.task_extras import (
    REMINDER_PRESETS,
    reminder_text,
    reminders_after,
    rule_text,
)

PRIORITIES = ("none", "low", "medium", "high")
SHOWN_ACTIVITY = 30
# A form's change to a task: (connection, owner, task id, form).
Change = Callable[[Connection, uuid.UUID, uuid.UUID, FormData], Awaitable[None]]


class TaskPages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        task = "/app/tasks/{task_id}"
        return [
            Route(task, signed(self.task), methods=["GET"]),
            Route(task, signed(self.save, writes=True), methods=["POST"]),
            Route(f"{task}/delete", signed(self.delete, writes=True), methods=["POST"]),
            Route(f"{task}/reminders", signed(self.reminders, writes=True), methods=["POST"]),
            Route(f"{task}/subtasks", signed(self.subtask, writes=True), methods=["POST"]),
            Route(f"{task}/comments", signed(self.comment, writes=True), methods=["POST"]),
            Route(f"{task}/words", signed(self.words, writes=True), methods=["POST"]),
            Route("/app/lists/{list_id}/activity", signed(self.list_activity), methods=["GET"]),
        ]

    async def _people(
        self, conn: Connection, signed_in: BrowserSignIn, list_id: Any
    ) -> list[dict[str, str]]:
        """Who can see the list's tasks (the inbox's: its user), with a name to show."""
        if list_id is None:
            user = signed_in.user
            return [{"id": str(user.id), "name": user.name or user.email, "email": user.email}]
        rows = await sharing.members(conn, user_id(signed_in), list_id)
        return [
            {"id": str(row.user_id), "name": row.name or row.email, "email": row.email}
            for row in rows
        ]

    async def task(self, request: Request, signed_in: BrowserSignIn, **context: Any) -> Response:
        task_id = parse_uuid(request.path_params["task_id"])
        owner = user_id(signed_in)
        language = self.site.language(request)
        _ = self.site.words(request)
        async with database(request).connection() as conn:
            zone = zone_of(signed_in)
            found = await tasks.get_task(conn, owner, task_id=task_id)
            mine = await lists.list_lists(conn, owner)  # (the sidebar's are the page context's)
            people = await self._people(conn, signed_in, found["list_id"])
            cursors = held(request.app, CursorCodec)
            # (with their subtasks and files counted, in the same statement, as the list's)
            beside = await pages.list_tasks(
                conn,
                owner,
                query=self._list_query(found["list_id"]),
                cursors=cursors,
                subtasks=True,
            )
            subtasks = await pages.list_tasks(
                conn,
                owner,
                query=ListQuery(filters=TaskFilters(parent_id=task_id), sort="position"),
                cursors=cursors,
            )
            said, _more = await comments.list_comments(conn, owner, task_id, limit=100)
            done = await activity.of_task(conn, owner, task_id, limit=SHOWN_ACTIVITY)
            parts = await _section_names(conn, owner, found["list_id"])
            files = await files_of_task(conn, owner, found, language, _)
        names = {person["id"]: person["name"] for person in people}
        lists_by_id = {str(item["id"]): item for item in mine}
        list_names = {key: item["name"] for key, item in lists_by_id.items()}
        titles = {str(task_id): found["title"]}
        reader = activity_words.Reader(
            _, owner, names, titles, list_names, zone, language, sections=parts
        )
        conflict = context.pop("conflict", None)
        if conflict is not None:  # ids by their names
            named = {"list_id": {"": _("Inbox"), **list_names}, "assignee_id": names}
            conflict = [(key, named.get(key, {}).get(value, value)) for key, value in conflict]
        home = lists_by_id.get(str(found["list_id"])) if found["list_id"] else None
        # A viewer of the list reads the task; changing it, commenting included, is refused.
        writable = home is None or home["role"] != "viewer"
        viewed = {str(item["id"]) for item in mine if item["role"] == "viewer"}
        now = now_in(zone)
        shown = task_row(task_body(found), zone, language, now)
        shown_values = task_form.values_of(task_body(found), zone)
        values = context.pop("values", None) or shown_values
        return self.site.render(
            request,
            "task.html",
            context.pop("status", 200),
            user=signed_in.user,
            task=shown,
            writable=writable,
            opened_beside=is_htmx(request),
            repeats=rule_text(values["recurrence"], language) if values["recurrence"] else "",
            assignee=names.get(str(found["assignee_id"])) if found["assignee_id"] else None,
            values=values,
            base=context.pop("base", None) or shown_values,
            version=found["version"],
            home=home,
            beside=[
                {
                    **item,
                    "line": task_line(
                        item,
                        zone,
                        language,
                        now,
                        subtasks=beside.subtasks.get(item["id"]),
                        files=beside.files.get(item["id"], 0),
                        viewed_only=viewed,
                    ),
                }
                for item in beside.tasks
            ],
            back=f"/app/lists/{found['list_id']}" if found["list_id"] else APP,
            subtasks=[
                {**item, "line": task_line(item, zone, language, now, viewed_only=viewed)}
                for item in subtasks.tasks
            ],
            writable_lists=[item for item in mine if item["role"] in ("owner", "editor")],
            people=people if home is not None and home["member_count"] > 1 else [],
            mentionable=json.dumps([[p["name"], p["id"]] for p in people]),
            description=rendered(found["description"]),
            next_dates=[_date_text(due, zone, language) for due in task_form.next_dates(found)],
            presets=task_form.PRESETS,
            reminders=[(r["id"], reminder_text(r, zone, language, _)) for r in found["reminders"]],
            reminder_presets=REMINDER_PRESETS,
            comments=[
                {
                    "author": names.get(str(row.author_id)) or _("Someone"),
                    "at": activity_words.when(reader, row.created_at),
                    "body": rendered(row.body),
                    "files": [file for file in files if file["comment_id"] == str(row.id)],
                }
                for row in said
            ],
            activity=[
                (activity_words.when(reader, item["at"]), sentence)
                for item in done["items"]
                for sentence in activity_words.sentences(reader, item)
            ],
            files=files,
            files_message=_refused(request, _, held(request.app, Files), language),
            upload_words=json.dumps(refusal_words(_, held(request.app, Files), language)),
            files_max_bytes=held(request.app, Files).max_bytes,
            priorities=PRIORITIES,
            due_presets=[
                (_preset_names(_)[name], day.isoformat(), _weekday(day, language))
                for name, day in task_form.due_presets(zone, language).items()
            ],
            calendar={
                "today": now.date().isoformat(),
                # The person's first day of the week, as the calendar's (0: Sunday, as JS's).
                "first": (week_start(signed_in.user.week_start, language) + 1) % 7,
                "lang": language,
            },
            field_names=_field_names(_),
            conflict=conflict,
            done=moved_back(request, found, list_names, language),
            **context,
        )

    @staticmethod
    def _list_query(list_id: Any) -> ListQuery:
        filters = TaskFilters(completed=False, top_level=True)
        if list_id is None:
            filters = TaskFilters(completed=False, top_level=True, inbox=True)
        else:
            filters = TaskFilters(completed=False, top_level=True, list_id=list_id)
        return ListQuery(filters=filters, sort="position", limit=50)

    async def save(self, request: Request, signed_in: BrowserSignIn) -> Response:
        task_id = parse_uuid(request.path_params["task_id"])
        owner = user_id(signed_in)
        form = await request.form()
        async with database(request).connection() as conn:
            zone = zone_of(signed_in)
            stored = task_form.values_of(
                task_body(await tasks.get_task(conn, owner, task_id=task_id)), zone
            )
        try:  # what the form showed (`shown`: a form of fewer fields), and its version
            shown = json.loads(str(form.get("base") or form["shown"]))
            base = {name: str(shown.get(name, "")) for name in task_form.FIELDS}
        except (KeyError, ValueError, AttributeError):
            base = stored
        version = str(form.get("version") or "")
        if_match = frozenset({int(version)}) if version.isdigit() else None
        language = self.site.language(request)
        mine = task_form.submitted(form, base, zone, language)
        unread = task_form.unreadable(form, zone, language)
        if unread is not None:  # said in plain words, beside the box it was typed in
            said = _unread_text(self.site.words(request), unread)
            where = (
                {"repeat_error": said, "repeat_words": unread.words}
                if unread.kind == "repeat"
                else {"message": said}
            )
            return await self.task(request, signed_in, status=400, values=mine, base=base, **where)
        try:
            changes = task_form.changes(mine, base, zone)
            if not changes:
                return redirect(f"/app/tasks/{task_id}")
            data = TaskUpdate.model_validate(changes)
            async with database(request).connection() as conn:
                try:
                    await tasks.update_task(
                        conn, owner, task_id=task_id, data=data, if_match=if_match
                    )
                except StaleVersion:
                    # A new version whose fields are as the form showed them (a file added
                    # or deleted, a section renamed) is no one's change to these: saved over.
                    now = await tasks.get_task(conn, owner, task_id=task_id)
                    shown = task_form.values_of(task_body(now), zone)
                    if base is stored or task_form.elsewhere(base, shown):
                        raise
                    current = frozenset({now["version"]})
                    await tasks.update_task(
                        conn, owner, task_id=task_id, data=data, if_match=current
                    )
        except NotFound:
            raise
        except StaleVersion:
            return await self._conflict(request, signed_in, task_id, mine, base, zone)
        except (ValidationError, ApiError) as exc:
            return await self.task(
                request, signed_in, status=400, message=problem(exc), values=mine, base=base
            )
        if "list_id" in changes:  # the page offers to move it back
            return redirect(f"/app/tasks/{task_id}?{MOVED_FROM}={base['list_id'] or INBOX}")
        return redirect(f"/app/tasks/{task_id}")

    async def _conflict(
        self,
        request: Request,
        signed_in: BrowserSignIn,
        task_id: uuid.UUID,
        mine: dict[str, str],
        base: dict[str, str],
        zone: str,
    ) -> Response:
        """Someone saved meanwhile: what they changed, and the form showing the task as it is
        now with the person's own changes on it (so that `Keep mine` saves those over it)."""
        async with database(request).connection() as conn:
            current = await tasks.get_task(conn, user_id(signed_in), task_id=task_id)
        now = task_form.values_of(task_body(current), zone)
        ours = {name: value for name, value in mine.items() if value != base.get(name, "")}
        return await self.task(
            request,
            signed_in,
            status=409,
            values={**now, **ours},
            base=now,
            conflict=task_form.elsewhere(base, now),
        )

    async def delete(self, request: Request, signed_in: BrowserSignIn) -> Response:
        task_id = parse_uuid(request.path_params["task_id"])
        async with database(request).connection() as conn:
            found = await tasks.get_task(conn, user_id(signed_in), task_id=task_id)
            await tasks.delete_task(conn, user_id(signed_in), task_id=task_id)
        list_id = found["list_id"]
        return redirect(APP if list_id is None else f"/app/lists/{list_id}")

    async def _change(
        self, request: Request, signed_in: BrowserSignIn, section: str, change: Change
    ) -> Response:
        """A form that changes the task (`change`, on one connection): refused, the task's page
        again saying why (400); done, back to the page's `section`."""
        task_id = parse_uuid(request.path_params["task_id"])
        form = await request.form()
        try:
            async with database(request).connection() as conn:
                await change(conn, user_id(signed_in), task_id, form)
        except NotFound:
            raise
        except (ValidationError, ApiError) as exc:
            return await self.task(request, signed_in, status=400, message=problem(exc))
        return redirect(f"/app/tasks/{task_id}#{section}")

    async def reminders(self, request: Request, signed_in: BrowserSignIn) -> Response:
        zone = zone_of(signed_in)

        async def keep(
            conn: Connection, owner: uuid.UUID, task_id: uuid.UUID, form: FormData
        ) -> None:
            found = await tasks.get_task(conn, owner, task_id=task_id)
            kept = reminders_after(found["reminders"], form, zone)
            data = TaskUpdate.model_validate({"reminders": kept})
            await tasks.update_task(conn, owner, task_id=task_id, data=data)

        return await self._change(request, signed_in, "reminders", keep)

    async def subtask(self, request: Request, signed_in: BrowserSignIn) -> Response:
        async def add(
            conn: Connection, owner: uuid.UUID, task_id: uuid.UUID, form: FormData
        ) -> None:
            parent = await tasks.get_task(conn, owner, task_id=task_id)
            data = TaskCreate.model_validate(
                {
                    "title": str(form.get("title") or ""),
                    "parent_id": str(task_id),
                    "list_id": str(parent["list_id"]) if parent["list_id"] else None,
                }
            )
            await tasks.create_task(conn, owner, data=data)

        return await self._change(request, signed_in, "subtasks", add)

    async def comment(self, request: Request, signed_in: BrowserSignIn) -> Response:
        task_id = parse_uuid(request.path_params["task_id"])
        form = await request.form()
        body = str(form.get("body") or "")
        uploaded: list[AttachmentRow] = []
        try:
            async with database(request).connection() as conn:
                found = await tasks.get_task(conn, user_id(signed_in), task_id=task_id)
                people = await self._people(conn, signed_in, found["list_id"])
                named = marked(body, ((person["name"], person["id"]) for person in people))
                data = CommentCreate.model_validate({"body": named})  # (checked before files)
            # The files chosen with it (without JavaScript) first, then the comment with their
            # ids and those files.js uploaded.
            uploaded = await store_chosen(request, signed_in, task_id, form)
            data.attachment_ids = [
                *(uuid.UUID(str(text)) for text in form.getlist("attachment_ids") if text),
                *(row["id"] for row in uploaded),
            ]
            async with database(request).connection() as conn:
                await comments.create_comment(conn, user_id(signed_in), task_id, data)
        except NotFound:
            raise
        except (ValidationError, ApiError, ValueError) as exc:
            # The comment refused, the files chosen with it go too: the form, shown again,
            # sends them again with it.
            await remove_uploaded(request, signed_in, uploaded)
            said = problem(exc)
            if isinstance(exc, ApiError) and exc.code != ErrorCode.VALIDATION_ERROR:
                _ = self.site.words(request)
                said = refusal(_, exc.code, held(request.app, Files), self.site.language(request))
            return await self.task(
                request, signed_in, status=400, comment_message=said, comment_text=body
            )
        return redirect(f"/app/tasks/{task_id}#comments")

    async def words(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """What the words typed for a due date (`due_words`) or a rule (`repeat_words`) read
        as, the rule with its next three dates; or, unread, what to try (nothing is written)."""
        form = await request.form()
        zone, language = zone_of(signed_in), self.site.language(request)
        _ = self.site.words(request)
        unread = task_form.unreadable(form, zone, language)
        if unread is not None:
            return self.site.render(request, "_words_read.html", error=_unread_text(_, unread))
        dates: list[str] = []
        if "repeat_words" in form:
            rule, found = task_form.rule_dates(str(form["repeat_words"]), zone, language)
            said = rule_text(rule, language) if rule else ""
            dates = [_date_text(due, zone, language) for due in found]
        else:
            due = task_form.read_due(str(form.get("due_words") or ""), zone, language)
            said = "" if due is None else _full_date(due, zone, language)
        return self.site.render(request, "_words_read.html", said=said, dates=dates, error=None)

    async def list_activity(self, request: Request, signed_in: BrowserSignIn) -> Response:
        list_id = parse_uuid(request.path_params["list_id"])
        owner = user_id(signed_in)
        _ = self.site.words(request)
        cursor = request.query_params.get("cursor")
        async with database(request).connection() as conn:
            zone = zone_of(signed_in)
            found = await lists.get_list(conn, owner, list_id)
            mine = await lists.list_lists(conn, owner)
            people = await self._people(conn, signed_in, list_id)
            try:
                done = await activity.of_list(conn, owner, list_id, cursor=cursor)
            except ApiError:  # a cursor this page did not give
                raise NotFound from None
            parts = await _section_names(conn, owner, list_id)
            titles = {}
            for task_id in {item["task_id"] for item in done["items"] if item["task_id"]}:
                try:
                    titles[str(task_id)] = (await tasks.get_task(conn, owner, task_id=task_id))[
                        "title"
                    ]
                except NotFound:
                    continue  # deleted since: its items say what it was called, if they can
        reader = activity_words.Reader(
            _,
            owner,
            {person["id"]: person["name"] for person in people},
            titles,
            {str(item["id"]): item["name"] for item in mine},
            zone,
            self.site.language(request),
            sections=parts,
        )
        more = done["next"]
        return self.site.render(
            request,
            "list_activity.html",
            user=signed_in.user,
            found=found,
            activity=[
                (activity_words.when(reader, item["at"]), sentence)
                for item in done["items"]
                for sentence in activity_words.sentences(reader, item)
            ],
            more=None if more is None else f"/app/lists/{list_id}/activity?cursor={more}",
        )


def _refused(request: Request, _: Gettext, files: Files, language: str) -> str | None:
    """Why an upload without JavaScript was refused (file_pages.py's redirect says its code)."""
    code = request.query_params.get(REFUSED)
    if code is None:
        return None
    return refusal(_, ErrorCode(code) if code in set(ErrorCode) else None, files, language)


def _field_names(_: Gettext) -> dict[str, str]:
    """The form's fields by the names their labels give them."""
    return {
        "title": _("Title"),
        "description": _("Description"),
        "due": _("Due"),
        "due_time": _("Time"),
        "all_day": _("All day"),
        "start": _("Start"),
        "start_time": _("Start at"),
        "recurrence": _("Repeat"),
        "priority": _("Priority"),
        "tags": _("Tags"),
        "list_id": _("List"),
        "assignee_id": _("Assignee"),
    }


def _preset_names(_: Gettext) -> dict[str, str]:
    return {
        "today": _("Today"),
        "tomorrow": _("Tomorrow"),
        "next week": _("Next week"),
        "this weekend": _("This weekend"),
    }


def _unread_text(_: Gettext, unread: task_form.Unreadable) -> str:
    """Words that cannot be read, said so, with what to try instead."""
    example = _("every monday") if unread.kind == "repeat" else _("next friday")
    return _("Can't read '%(words)s': try '%(hint)s'") % {
        "words": unread.words,
        "hint": unread.hint or example,
    }


def _weekday(day: date, language: str) -> str:
    return babel_dates.format_date(day, "EEE", locale=language)


def _full_date(due: date | datetime, zone: str, language: str) -> str:
    """A date read from words, in full in the language's form (its time without seconds)."""
    if isinstance(due, datetime):
        local = due.astimezone(zones.zone(zone))
        day = babel_dates.format_date(local.date(), "full", locale=language)
        return f"{day}, {babel_dates.format_time(local, 'short', locale=language)}"
    return babel_dates.format_date(due, "full", locale=language)


def _date_text(due: Any, zone: str, language: str) -> str:
    shown = task_row({"due_at": due} if hasattr(due, "hour") else {"due_date": due}, zone, language)
    return str(shown["due_text"])


async def _section_names(conn: Any, owner: uuid.UUID, list_id: uuid.UUID | None) -> dict[str, str]:
    """The list's sections' names by id, for the activity's words (the inbox has none)."""
    if list_id is None:
        return {}
    return {
        str(row["id"]): row["name"]
        for row in await list_sections.list_sections(conn, owner, list_id)
    }
