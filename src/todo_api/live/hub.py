"""A process's open streams: the per-user limit, and what wakes each one.

A stream is woken (its `signal` set) when its feed may have moved: a write by someone whose
changes its user can see (the user, or anyone sharing a list with them: `related`), heard
from this process (`wrote`) or from another one over the channel (todo_api.live.wakeups); the
feed's clock having moved, polled every `POLL_SECONDS` by one task for all the streams of the
process; a reconnected channel. Woken, a stream reads its feed and sends only what is new,
so a needless wake-up costs one read and nothing on the wire. The clock tells that someone's
feed moved, not whose: while the database takes writes every second, every stream of a
process reads its feed about once a second (the price of staying correct without a channel,
or when a message was lost).

Streams woken together share their reads: every stream of one user standing at the same
place in the feed gets its page from one read (`read`), so a change costs a read per user who
may see it, not one per stream (a user with ten tabs open, or a clock move waking every stream
of the process). A stream joins a read only if it began after the stream's latest wake-up (and
so after the commit that caused it), never one that may have taken its bound before.

Other producers give a stream messages of their own with `deliver`. Reminders fire in
whichever process claims them and leave their `reminder.fired` event in `reminder_events`:
the same poll reads the new ones (an indexed range of a few seconds, skipping those already
passed on) and hands each to the streams of the users who can see its task, as `event:
reminder` messages, which are never replayed.
Nothing here holds a database connection between two reads.

A stream lasts as long as the credential it was opened with works (todo_api.auth.credentials):
it ends when that credential's revocation is heard (`revoked`: from this process, or over the
channel from another, as personal tokens are forgotten), when it expires (the poll looks each
second), and when the database says it stopped: read for every stream of the process every
`CHECK_SECONDS`, channel or not (a sign-in may end without an announcement, a message may be
lost; it is a few indexed statements per process, not per stream), and at once when the
channel is back (what was sent meanwhile is lost).
"""

import asyncio
import itertools
import logging
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select

from todo_api.auth import Credential, KnownTokens, KnownUsers, ended_credentials
from todo_api.config import Settings
from todo_api.db import Connection, Database, DatabaseFailure, Query
from todo_api.feed.pages import Page, read_page
from todo_api.kit import access
from todo_api.kit.changes import Clock, Position, SyncTokens, current_position
from todo_api.kit.http import json_bytes
from todo_api.kit.ids import utcnow
from todo_api.kit.throttle import TracebackThrottle
from todo_api.live import wakeups
from todo_api.notifications.schemas import notification_body
from todo_api.process.shutdown import Lifecycle
from todo_api.tables.notifications import notifications
from todo_api.tables.reminders import reminder_events

log = logging.getLogger("todo_api")

# How often the feed's clock is read (while this process has streams): the wake-up that
# needs no channel.
POLL_SECONDS = 1.0
# How often the users related to this process's streams are read again and announced, and
# how long an announcement holds.
ANNOUNCE_SECONDS = 10.0
AUDIENCE_SECONDS = 3 * ANNOUNCE_SECONDS
# How long a revocation's answer waits for it to be sent and for every process to confirm it
# (one stuck process delays revocations no longer; its entries run out after
# KNOWN_TOKEN_SECONDS).
CONFIRM_SECONDS = 2.0
# How often the credentials of the process's streams are read (a stream ends within this and
# a poll of its credential stopping, whether or not it was announced).
CHECK_SECONDS = 2.0

# Whose writes a user's feed shows: theirs, and those of everyone sharing one of their lists.
RELATED = Query(access.sharing_with_caller())


# Orders wake-ups and the starts of reads (see `Hub.read`).
_ticks = itertools.count(1)
# Reminder events are read again for this long after they were written: one committed a
# little after its timestamp is still seen (those already passed on are skipped).
REMINDER_OVERLAP = timedelta(seconds=10)
REMINDER_EVENTS = Query(
    select(reminder_events.c.id, reminder_events.c.audience, reminder_events.c.payload)
    .where(reminder_events.c.created_at > bindparam("since"))
    .order_by(reminder_events.c.created_at)
)


# Notifications are read as reminder events are: those made since the last read, and again
# for REMINDER_OVERLAP (those passed on already are skipped).
NEW_NOTIFICATIONS = Query(
    select(notifications)
    .where(notifications.c.at > bindparam("since"))
    .order_by(notifications.c.at)
)


class TooManyStreams(Exception):
    pass


@dataclass(eq=False)
class _Confirmations:
    """The processes that confirmed one revocation so far."""

    count: int = 0
    heard: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self) -> None:
        self.count += 1
        self.heard.set()

    async def reach(self, expected: int) -> None:
        while self.count < expected:
            self.heard.clear()
            await self.heard.wait()


@dataclass(eq=False)
class _SharedRead:
    started: int  # the tick when it began: it sees every commit woken about before
    page: "asyncio.Future[Page]"


@dataclass(eq=False)
class Stream:
    """One open stream: what wakes it, and what it has to send."""

    credential: Credential
    signal: asyncio.Event = field(default_factory=asyncio.Event)
    feed_moved: bool = True  # its first turn reads the feed
    messages: deque[tuple[str, str]] = field(default_factory=deque)  # (event, data)
    related: frozenset[uuid.UUID] = frozenset()
    woken: int = 0  # the tick of its latest wake-up
    # Where the feed stood when the clock last woke it (see `caught_up`).
    floor: Position | None = None
    ended: bool = False  # its credential stopped working: it ends

    @property
    def user_id(self) -> uuid.UUID:
        return self.credential.user_id

    def end(self) -> None:
        self.ended = True
        self.signal.set()

    def wake(self, floor: Position | None = None) -> None:
        self.feed_moved = True
        self.woken = next(_ticks)
        if floor is not None:
            self.floor = floor
        self.signal.set()

    def caught_up(
        self, since: tuple[Position, float], floor: Position | None
    ) -> tuple[Position, float]:
        """Where to read from after a read found nothing more: the clock's position `floor`
        (taken before the read began, so the read covered everything up to it) when it is
        ahead. Streams of one user then stand at the same place, and share their next read;
        a stream that never had anything stays where it opened otherwise."""
        if floor is not None and floor > since[0]:
            return floor, since[1]
        return since


class Hub:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        lifecycle: Lifecycle,
        channel: wakeups.Channel | None,
        tokens: KnownTokens,
        users: KnownUsers,
    ) -> None:
        self._db = db
        self._limit = settings.event_streams_per_user
        self._lifecycle = lifecycle
        self._channel = channel
        self._streams: dict[uuid.UUID, set[Stream]] = {}  # by their user
        self._by_related: dict[uuid.UUID, set[Stream]] = {}  # by whose writes wake them
        self._by_credential: dict[uuid.UUID, set[Stream]] = {}  # by the ids that end them
        self._audience: dict[uuid.UUID, float] = {}  # writers worth sending -> until
        self._outbox: set[uuid.UUID] = set()
        self._announcements: set[uuid.UUID] = set()
        self._confirming: set[uuid.UUID] = set()  # revocations heard, to confirm
        self._confirmations: dict[uuid.UUID, _Confirmations] = {}  # this process's, by nonce
        self._send_soon = asyncio.Event()
        self._announce_all = False
        self._tasks: list[asyncio.Task[None]] = []
        self._tracebacks = TracebackThrottle()
        self._reads: dict[tuple[uuid.UUID, Position], _SharedRead] = {}
        # Reminder events read so far: since when, and those passed on (id -> written by).
        self._reminders_since = utcnow()
        self._reminders_seen: dict[uuid.UUID, datetime] = {}
        # Notifications likewise.
        self._notifications_since = utcnow()
        self._notifications_seen: dict[uuid.UUID, datetime] = {}
        # Personal tokens are kept in memory only while revocations are heard here.
        self._tokens = tokens
        self._users = users
        tokens.announce = self._revoked
        if channel is not None:
            tokens.trusted = lambda: channel.connected
        self._check_all = False  # read every stream's credential on the next poll

    # --- streams ------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._lifecycle.stopping.is_set()

    def open(self, credential: Credential) -> Stream:
        """A new stream of the credential's user, within the limit per user (TooManyStreams
        beyond); it lasts as long as the credential works."""
        user_id = credential.user_id
        streams = self._streams.setdefault(user_id, set())
        if len(streams) >= self._limit:
            raise TooManyStreams
        stream = Stream(credential)
        streams.add(stream)
        for ended_by in credential.ids:
            self._by_credential.setdefault(ended_by, set()).add(stream)
        self._relate(stream, {user_id})
        self.start()
        return stream

    async def join(self, stream: Stream) -> None:
        """Learn whose writes wake the stream, and tell the other processes."""
        async with self._db.connection() as conn:
            related = {
                row.user_id for row in await conn.execute(RELATED, {"user_id": stream.user_id})
            }
        self._relate(stream, related | {stream.user_id})
        self._announce(stream.related)

    def close(self, stream: Stream) -> None:
        streams = self._streams.get(stream.user_id, set())
        streams.discard(stream)
        if not streams:
            self._streams.pop(stream.user_id, None)
        for ended_by in stream.credential.ids:
            ending = self._by_credential.get(ended_by)
            if ending is not None:
                ending.discard(stream)
                if not ending:
                    del self._by_credential[ended_by]
        self._relate(stream, set())

    def _end(self, ids: Iterable[uuid.UUID]) -> None:
        """Credentials (tokens, sign-ins, grants) were revoked, or users deleted: the streams
        they opened end."""
        for ended_by in ids:
            for stream in self._by_credential.get(ended_by, ()):
                stream.end()

    def deliver(self, user_id: uuid.UUID, event: str, data: str) -> None:
        """A message for every stream of `user_id` in this process (reminders)."""
        for stream in self._streams.get(user_id, ()):
            stream.messages.append((event, data))
            stream.signal.set()

    async def read(
        self, tokens: SyncTokens, stream: Stream, since: tuple[Position, float], limit: int
    ) -> Page:
        """The stream's next page: from a read of its user's feed at `since` that began after
        the stream's latest wake-up, under way or started here (others may join it)."""
        user_id, (position, as_of) = stream.user_id, since
        key = (user_id, position)
        shared = self._reads.get(key)
        if shared is None or shared.started < stream.woken:
            shared = _SharedRead(
                next(_ticks), asyncio.ensure_future(self._read(tokens, key, since, limit))
            )
            self._reads[key] = shared
            shared.page.add_done_callback(lambda _done: self._forget(key, shared))
        page = await asyncio.shield(shared.page)  # a stream that goes leaves it to the others
        # The token carries this stream's own age (a page in the middle keeps it).
        after = (page.feed.position, tokens.next_as_of(page.feed, as_of))
        if after == page.next:
            return page
        return Page({**page.body, "next": tokens.issue(user_id, *after)}, page.feed, after)

    async def _read(
        self,
        tokens: SyncTokens,
        key: tuple[uuid.UUID, Position],
        since: tuple[Position, float],
        limit: int,
    ) -> Page:
        async with self._db.connection() as conn:
            return await read_page(conn, tokens, key[0], since, limit)

    def _forget(self, key: tuple[uuid.UUID, Position], shared: _SharedRead) -> None:
        if self._reads.get(key) is shared:
            del self._reads[key]
        if not shared.page.cancelled():
            shared.page.exception()  # retrieved: a failure is each reader's to handle

    def _relate(self, stream: Stream, related: Iterable[uuid.UUID]) -> None:
        for user in stream.related:
            woken = self._by_related.get(user)
            if woken is not None:
                woken.discard(stream)
                if not woken:
                    del self._by_related[user]
        stream.related = frozenset(related)
        for user in stream.related:
            self._by_related.setdefault(user, set()).add(stream)

    def _all(self) -> Iterable[Stream]:
        return [stream for streams in self._streams.values() for stream in streams]

    # --- wake-ups -----------------------------------------------------------------------

    def wrote(self, user_id: uuid.UUID) -> None:
        """`user_id`'s write has committed (called on every successful write request: a
        look-up, no more, when nobody listens)."""
        for stream in self._by_related.get(user_id, ()):
            stream.wake()
        if self._channel is not None and self._audience.get(user_id, 0.0) > time.monotonic():
            self._outbox.add(user_id)
            self._send_soon.set()

    def _heard(self, message: str) -> None:
        if message == wakeups.CONNECTED:  # what was sent while it was down is lost
            self._tokens.clear()
            self._check_all = True
            for stream in self._all():
                stream.wake()
            self._announce_all = True
            return
        kind, users = wakeups.parse(message)
        if kind == wakeups.WROTE:
            for user in users:
                for stream in self._by_related.get(user, ()):
                    stream.wake()
        elif kind == wakeups.AUDIENCE:
            until = time.monotonic() + AUDIENCE_SECONDS
            for user in users:
                self._audience[user] = until
        elif kind == wakeups.REVOKED:
            self._tokens.forget(users)  # credentials' ids (and deleted users')
            self._end(users)
            for deleted in wakeups.deleted_users(message):  # ensured again on their next request
                self._users.discard(deleted)
            nonce = wakeups.confirmation_asked(message)
            if nonce is not None:
                self._confirming.add(nonce)
                self._send_soon.set()
        elif kind == wakeups.CONFIRMED:
            for nonce in users:
                confirmations = self._confirmations.get(nonce)
                if confirmations is not None:
                    confirmations.add()

    async def _revoked(self, token_ids: list[uuid.UUID], deleted_users: list[uuid.UUID]) -> None:
        """Tell every process that these credentials were revoked (tokens, sign-ins, grants)
        and these users deleted, ending this process's streams they opened at once, and wait
        until every process listening has forgotten them: the revocation's answer waits for
        it, sending included, at most CONFIRM_SECONDS (todo_api.live.wakeups)."""
        self._end([*token_ids, *deleted_users])
        if self._channel is None:
            return
        messages = dict(wakeups.revocations(token_ids, deleted_users))  # by nonce
        waiting = {nonce: _Confirmations() for nonce in messages}
        self._confirmations.update(waiting)
        listeners: dict[uuid.UUID, int] = {}
        try:
            async with asyncio.timeout(CONFIRM_SECONDS):
                for nonce, message in messages.items():
                    listeners[nonce] = await self._channel.broadcast(message)
                for nonce, count in listeners.items():
                    await waiting[nonce].reach(count)
        except TimeoutError:
            if len(listeners) < len(messages):
                log.warning(
                    "live updates: sending a token revocation took over %s s", CONFIRM_SECONDS
                )
            else:
                log.warning(
                    "live updates: %d of %d processes confirmed a token revocation within %s s",
                    min(waiting[nonce].count for nonce in listeners),
                    max(listeners.values()),
                    CONFIRM_SECONDS,
                )
        except Exception as exc:  # entries elsewhere run out after KNOWN_TOKEN_SECONDS
            self._failed("sending a revocation", exc)
        finally:
            for nonce in waiting:
                del self._confirmations[nonce]

    def _announce(self, users: Iterable[uuid.UUID]) -> None:
        if self._channel is not None:
            self._announcements.update(users)
            self._send_soon.set()

    # --- the process's tasks ------------------------------------------------------------

    def start(self) -> None:
        """Start listening and polling (once; also by the first stream of a process whose
        lifespan did not)."""
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._poll(), name="live.poll"),
            asyncio.create_task(self._stop_streams(), name="live.stop"),
        ]
        if self._channel is not None:
            self._tasks += [
                asyncio.create_task(self._channel.listen(self._heard), name="live.listen"),
                asyncio.create_task(self._send(), name="live.send"),
            ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        self._tasks = []
        if self._channel is not None:
            await self._channel.close()

    async def _poll(self) -> None:
        clock = Clock()
        announce_at = prune_at = check_at = 0.0
        while True:
            await asyncio.sleep(POLL_SECONDS)
            now = time.monotonic()
            if now >= prune_at:  # forget the announcements that ran out
                self._audience = {user: t for user, t in self._audience.items() if t > now}
                prune_at = now + ANNOUNCE_SECONDS
            if not self._streams:
                self._reminders_since = utcnow()  # a stream gets what fires once it is open
                self._notifications_since = utcnow()
                continue
            wall = time.time()
            for stream in self._all():
                if stream.credential.expired(wall):
                    stream.end()
            if now >= check_at:
                self._check_all = True
            try:
                async with self._db.connection() as conn:
                    if await clock.moved(conn):
                        floor = await current_position(conn)
                        for stream in self._all():
                            stream.wake(floor)
                    await self._pass_reminders(conn)
                    await self._pass_notifications(conn)
                    if self._check_all:
                        self._check_all = False
                        check_at = now + CHECK_SECONDS
                        await self._check(conn)
                if self._channel is not None and (
                    self._announce_all or time.monotonic() >= announce_at
                ):
                    self._announce_all = False
                    announce_at = time.monotonic() + ANNOUNCE_SECONDS
                    await self._refresh()
            except DatabaseFailure as exc:
                self._failed("polling", exc)

    async def _check(self, conn: Connection) -> None:
        """End the streams whose credential stopped working."""
        streams = self._all()
        ended = await ended_credentials(conn, {stream.credential for stream in streams})
        for stream in streams:
            if stream.credential in ended:
                stream.end()

    async def _pass_reminders(self, conn: Connection) -> None:
        """Hand the reminder events written since the last read to their users' streams."""
        now = utcnow()
        params = {"since": self._reminders_since - REMINDER_OVERLAP}
        for row in await conn.execute(REMINDER_EVENTS, params):
            if row["id"] in self._reminders_seen:
                continue
            self._reminders_seen[row["id"]] = now
            for user in row["audience"]:
                self.deliver(uuid.UUID(user), "reminder", row["payload"])
        self._reminders_since = now
        forget = now - 2 * REMINDER_OVERLAP
        self._reminders_seen = {k: t for k, t in self._reminders_seen.items() if t > forget}

    async def _pass_notifications(self, conn: Connection) -> None:
        """Hand the notifications made since the last read to their users' streams here
        (`event: notification`)."""
        now = utcnow()
        params = {"since": self._notifications_since - REMINDER_OVERLAP}
        for row in await conn.execute(NEW_NOTIFICATIONS, params):
            if row["id"] in self._notifications_seen:
                continue
            self._notifications_seen[row["id"]] = now
            if row["user_id"] in self._streams:
                body = json_bytes(notification_body(row)).decode()
                self.deliver(row["user_id"], "notification", body)
        self._notifications_since = now
        forget = now - 2 * REMINDER_OVERLAP
        seen = self._notifications_seen
        self._notifications_seen = {k: t for k, t in seen.items() if t > forget}

    async def _refresh(self) -> None:
        """Read again whose writes wake each user's streams (memberships change), and
        announce them all."""
        async with self._db.connection() as conn:
            for user_id, streams in list(self._streams.items()):
                rows = await conn.execute(RELATED, {"user_id": user_id})
                related = {row.user_id for row in rows} | {user_id}
                for stream in list(streams):
                    self._relate(stream, related)
                self._announce(related)

    async def _send(self) -> None:
        assert self._channel is not None
        while True:
            await self._send_soon.wait()
            self._send_soon.clear()
            wrote, self._outbox = self._outbox, set()
            announced, self._announcements = self._announcements, set()
            confirmed, self._confirming = self._confirming, set()
            try:
                for message in wakeups.messages(wakeups.CONFIRMED, confirmed):
                    await self._channel.send(message)
                for message in wakeups.messages(wakeups.WROTE, wrote):
                    await self._channel.send(message)
                for message in wakeups.messages(wakeups.AUDIENCE, announced):
                    await self._channel.send(message)
            except Exception as exc:  # any failure of the channel: polling covers it
                self._failed("sending", exc)

    async def _stop_streams(self) -> None:
        await self._lifecycle.stopping.wait()
        for stream in self._all():
            stream.signal.set()

    def _failed(self, what: str, exc: BaseException) -> None:
        self._tracebacks.log(log, logging.WARNING, exc, "live updates: %s failed (%s)", what)
