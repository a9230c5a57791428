"""A mixed load of several people through one URL (a load balancer's), recorded so that what
every client saw can be checked afterwards (`check`).

Each person has a personal access token (the API, CalDAV, the live stream), the web app's
cookie, a webhook to a local receiver (`/hook/<n>`) and one live stream that resumes with
`Last-Event-ID` whenever it ends or drops. In turn they create tasks (each with its own
`Idempotency-Key`; some with a reminder due during the run), quick-add, rename, complete, list,
open the inbox page and sync the inbox over CalDAV. A write is retried, with the same key, after
a 502/503/504, a dropped connection, or a 409 that says its key is still being processed (a
claim left by a killed instance); it is *acknowledged* once a 2xx came back.

Used by tests/test_scale_out_server.py (seconds) and bench/scale_out.py (minutes).
"""

import asyncio
import random
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from tests.live_helpers import Events
from tests.reminders.smtp import Mailbox
from tests.webhooks.receiver import Receiver

PASSWORD = "a long enough passphrase"
TIMEOUT = 30.0
# How long a write is retried before the load gives up on it (a claim left by a killed
# instance is taken over after 60 s: kit/idempotency.py's STALE_CLAIM).
RETRY_FOR_SECONDS = 90.0
RETRIED_STATUSES = (502, 503, 504)
# How long after the load the checks wait for webhooks, reminders and streams to catch up.
SETTLE_SECONDS = 90.0
SYNC_BODY = (
    '<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>{}</d:sync-token>'
    "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
)


def soon(seconds: float) -> str:
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    return at.isoformat().replace("+00:00", "Z")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Answer:
    """One HTTP exchange as a client saw it (a dropped connection has status 0)."""

    at: float
    kind: str  # create, quick, patch, complete, list, page, caldav, stream
    status: int
    seconds: float
    from_proxy: bool = False  # a 5xx that HAProxy wrote, not the service
    detail: str = ""  # the start of a 5xx's body


@dataclass
class Person:
    n: int
    email: str
    user_id: str
    token: str
    api: httpx.AsyncClient
    web: httpx.AsyncClient
    secret: str = ""
    tasks: dict[str, str] = field(default_factory=dict)  # acknowledged: id -> title
    reminders: dict[str, tuple[str, str]] = field(
        default_factory=dict
    )  # reminder id -> (title, at)
    completed: set[str] = field(default_factory=set)
    streamed: set[str] = field(default_factory=set)  # ids the live stream named
    stream_opens: int = 0
    stream_resets: int = 0
    sync_token: str = ""


@dataclass
class Record:
    answers: list[Answer] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)  # writes never acknowledged
    faults: list[tuple[str, float, float]] = field(default_factory=list)  # name, start, end
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0  # how long the load ran (longer than asked when faults took longer)

    def note(self, kind: str, status: int, began: float, body: bytes = b"") -> None:
        # HAProxy's own error pages are HTML; the service's errors are JSON.
        from_proxy = status >= 500 and b"<html>" in body[:200].lower()
        seconds = time.monotonic() - began
        detail = body[:300].decode(errors="replace") if status >= 500 else ""
        answer = Answer(began - self.started, kind, status, seconds, from_proxy, detail)
        self.answers.append(answer)


def _is_retryable(response: httpx.Response) -> bool:
    if response.status_code in RETRIED_STATUSES:
        return True
    # A key claimed by a request that is still running, or died with its instance.
    return response.status_code == 409 and "Retry-After" in response.headers


async def exchange(
    record: Record,
    kind: str,
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    retry: bool,
) -> httpx.Response | None:
    """`send()`, noted; retried (same request, so the same Idempotency-Key) after a 5xx from
    the proxy, a dropped connection or a key still in progress while `retry`; None when it
    never got an answer."""
    deadline = time.monotonic() + RETRY_FOR_SECONDS
    while True:
        began = time.monotonic()
        try:
            response = await send()
        except httpx.TransportError:
            record.note(kind, 0, began)
            response = None
        else:
            record.note(kind, response.status_code, began, response.content)
            if not (retry and _is_retryable(response)):
                return response
        if not retry or time.monotonic() > deadline:
            return response
        await asyncio.sleep(random.uniform(0.1, 0.5))


async def sign_up(base: str, n: int, record: Record, receiver: Receiver) -> Person:
    """A new person: registered, signed in to the app, with a token and a webhook."""
    email = f"load-{n}-{uuid.uuid4().hex[:8]}@example.test"
    api = httpx.AsyncClient(base_url=base, timeout=TIMEOUT)
    web = httpx.AsyncClient(base_url=base, timeout=TIMEOUT)
    made = await api.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert made.status_code == 201, made.text
    api.headers["Authorization"] = f"Bearer {made.json()['access_token']}"
    me = (await api.get("/api/auth/me")).json()
    pat = await api.post("/api/tokens", json={"name": "load", "expires_in_days": 1})
    assert pat.status_code == 201, pat.text
    token = pat.json()["token"]
    api.headers["Authorization"] = f"Bearer {token}"
    person = Person(n, email, me["id"], token, api, web)
    subscription = {"url": receiver.url(f"/hook/{n}"), "events": ["*"]}
    hook = await api.post("/api/webhooks", json=subscription)
    assert hook.status_code == 201, hook.text
    person.secret = hook.json()["secret"]
    form = await web.get("/app/signin")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None, form.text
    fields = {"csrf_token": csrf.group(1), "action": "signin", "email": email}
    signed = await web.post("/app/signin", data={**fields, "password": PASSWORD})
    assert signed.status_code == 303, signed.text
    return person


async def _create(person: Person, record: Record, *, remind_in: float | None) -> None:
    title = f"task {person.n}-{uuid.uuid4().hex[:10]}"
    body: dict[str, Any] = {"title": title}
    if remind_in is not None:
        body["reminders"] = [{"at": soon(remind_in)}]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    response = await exchange(
        record,
        "create",
        lambda: person.api.post("/api/tasks", json=body, headers=key),
        retry=True,
    )
    if response is None or response.status_code != 201:
        record.gave_up.append(f"create {title}: {response and response.status_code}")
        return
    task = response.json()
    person.tasks[task["id"]] = title
    for reminder in task.get("reminders", []):
        # One already past when the server set it (a slow answer) is kept and never fires.
        if _instant(reminder["at"]) > _instant(task["created_at"]):
            person.reminders[reminder["id"]] = (title, reminder["at"])


async def _quick(person: Person, record: Record) -> None:
    tag = uuid.uuid4().hex[:10]
    text = f"call {person.n}-{tag} tomorrow p2"
    key = {"Idempotency-Key": uuid.uuid4().hex}
    response = await exchange(
        record,
        "quick",
        lambda: person.api.post("/api/tasks/quick", json={"text": text}, headers=key),
        retry=True,
    )
    if response is None or response.status_code != 201:
        record.gave_up.append(f"quick {tag}: {response and response.status_code}")
        return
    task = response.json()
    person.tasks[task["id"]] = task["title"]


async def _patch(person: Person, record: Record) -> None:
    task_id = random.choice(list(person.tasks))
    body = {"priority": random.choice(["low", "high"])}
    await exchange(
        record, "patch", lambda: person.api.patch(f"/api/tasks/{task_id}", json=body), retry=True
    )


async def _complete(person: Person, record: Record) -> None:
    # A completed task's reminder does not fire: those are left open.
    reminded = {title for title, _ in person.reminders.values()}
    open_ = [
        t
        for t, title in person.tasks.items()
        if t not in person.completed and title not in reminded
    ]
    if not open_:
        return
    task_id = random.choice(open_)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    response = await exchange(
        record,
        "complete",
        lambda: person.api.post(f"/api/tasks/{task_id}/complete", headers=key),
        retry=True,
    )
    if response is not None and response.status_code == 200:
        person.completed.add(task_id)


async def _read(person: Person, record: Record, kind: str) -> None:
    if kind == "list":
        send = lambda: person.api.get("/api/tasks", params={"limit": 50})  # noqa: E731
    elif kind == "page":
        send = lambda: person.web.get("/app/")  # noqa: E731
    else:
        path = f"/dav/calendars/{person.user_id}/inbox/"
        body = SYNC_BODY.format(person.sync_token).encode()
        send = lambda: person.api.request("REPORT", path, content=body)  # noqa: E731
    response = await exchange(record, kind, send, retry=True)
    if kind == "caldav" and response is not None and response.status_code == 207:
        found = re.search(rb"<[a-zA-Z]*:?sync-token[^>]*>([^<]+)<", response.content)
        person.sync_token = found.group(1).decode() if found else ""


async def act(person: Person, record: Record, remind_until: float) -> None:
    """One thing a person does, picked at random (writes need a task first)."""
    roll = random.random()
    if not person.tasks or roll < 0.25:
        remind = time.monotonic() < remind_until and random.random() < 0.3
        await _create(person, record, remind_in=random.uniform(2, 6) if remind else None)
    elif roll < 0.32:
        await _quick(person, record)
    elif roll < 0.45:
        await _patch(person, record)
    elif roll < 0.52:
        await _complete(person, record)
    elif roll < 0.7:
        await _read(person, record, "list")
    elif roll < 0.85:
        await _read(person, record, "page")
    else:
        await _read(person, record, "caldav")


async def follow_stream(person: Person, record: Record, stop: asyncio.Event) -> None:
    """The person's live stream, opened again with Last-Event-ID whenever it ends or drops,
    noting every task id it names, until `stop`."""
    last_id: str | None = None
    while not stop.is_set():
        headers = {"Last-Event-ID": last_id} if last_id else {}
        began = time.monotonic()
        person.stream_opens += 1
        try:
            async with person.api.stream("GET", "/api/events", headers=headers) as response:
                failed = response.status_code != 200
                body = await response.aread() if failed else b""
                record.note("stream", response.status_code, began, body)
                if failed:
                    await asyncio.sleep(0.5)
                    continue
                events = Events(response)
                while not stop.is_set():
                    message = await events.next(within=60)
                    if message is None:
                        break  # ended (a drain closes streams with a retry: hint)
                    if message.event == "reset":
                        person.stream_resets += 1
                    if message.event != "changes":
                        continue
                    page = orjson.loads(message.data or "{}")
                    person.streamed |= {task["id"] for task in page.get("changes", [])}
                    person.streamed |= set(page.get("deleted", []))
                    last_id = message.id or last_id
        except (httpx.TransportError, TimeoutError):
            record.note("stream", 0, began)
        await asyncio.sleep(random.uniform(0.1, 0.3))


async def keep_acting(person: Person, record: Record, stop: asyncio.Event, until: float) -> None:
    while not stop.is_set():
        await act(person, record, remind_until=until)
        await asyncio.sleep(random.uniform(0.05, 0.25))


@dataclass
class Outcome:
    """What `check` found wrong (empty: nothing), and what it counted."""

    problems: list[str]
    counts: dict[str, Any]


def _webhook_problems(people: list[Person], receiver: Receiver) -> tuple[list[str], dict[str, int]]:
    problems: list[str] = []
    ids_by_event: dict[str, set[str]] = defaultdict(set)
    created: dict[int, set[str]] = defaultdict(set)
    for request in receiver.requests():
        event = request.json()
        ids_by_event[event["id"]].add(request.headers.get("webhook-id", ""))
        if event["type"] == "task.created":
            created[int(request.path.rsplit("/", 1)[1])].add(event["data"]["id"])
    problems += [
        f"event {event} came with webhook-ids {ids}"
        for event, ids in ids_by_event.items()
        if ids != {event}
    ]
    for person in people:
        missing = set(person.tasks) - created[person.n]
        if missing:
            problems.append(f"person {person.n}: no task.created webhook for {sorted(missing)}")
    deliveries = len(receiver.requests())
    return problems, {"webhook_events": len(ids_by_event), "webhook_deliveries": deliveries}


def _reminder_problems(
    people: list[Person], receiver: Receiver, box: Mailbox, kills: int
) -> tuple[list[str], dict[str, int]]:
    problems: list[str] = []
    fired: dict[str, set[str]] = defaultdict(set)  # reminder id -> event ids
    for event in (r.json() for r in receiver.requests()):
        if event["type"] == "reminder.fired":
            fired[event["data"]["reminder"]["id"]].add(event["id"])
    mails = [m for m in box.messages() if str(m["Subject"]).startswith("Reminder: ")]
    mail_ids: dict[str, list[str]] = defaultdict(list)  # title -> Message-IDs
    for mail in mails:
        title = str(mail["Subject"]).removeprefix("Reminder: ").rsplit(" · ", 1)[0]
        mail_ids[title].append(str(mail["Message-ID"]))
    due = 0
    for person in people:
        for reminder_id, (title, _) in person.reminders.items():
            due += 1
            if len(fired[reminder_id]) != 1:
                problems.append(f"reminder {reminder_id} fired {len(fired[reminder_id])} times")
            if len(set(mail_ids[title])) != 1:
                problems.append(f"reminder of {title!r} emailed as {mail_ids[title]}")
    # An email handed over just as its sender is killed goes again, with its Message-ID.
    again = sum(len(ids) - len(set(ids)) for ids in mail_ids.values())
    if again > kills:
        problems.append(f"{again} reminder emails sent twice, with only {kills} kills")
    return problems, {"reminders": due, "reminder_emails": len(mails), "emails_again": again}


def _answer_problems(record: Record) -> list[str]:
    """A 5xx is fine only from the proxy, for a request in flight on a killed instance."""
    problems = []
    kills = [(start, end) for name, start, end in record.faults if name.startswith("kill")]
    for answer in record.answers:
        if answer.status < 500:
            continue
        ended = answer.at + answer.seconds
        during_kill = any(start - 0.5 <= ended <= end + 1.0 for start, end in kills)
        if not (answer.from_proxy and answer.status in (502, 503) and during_kill):
            source = "proxy" if answer.from_proxy else "service"
            problems.append(
                f"{answer.kind} {answer.status} from the {source} at {ended:.2f} s: {answer.detail}"
            )
    return problems


async def listed_titles(person: Person) -> Counter[str]:
    """Every task of the person's, by title, read through every page of the listing."""
    titles: Counter[str] = Counter()
    params: dict[str, Any] = {"limit": 200}
    while True:
        response = await person.api.get("/api/tasks", params=params)
        assert response.status_code == 200, response.text
        titles.update(task["title"] for task in response.json())
        cursor = response.headers.get("X-Next-Cursor")
        if not cursor:
            return titles
        params = {"cursor": cursor}


async def settle(people: list[Person], receiver: Receiver, box: Mailbox) -> None:
    """Until every stream named every acknowledged task, every created task's webhook and every
    reminder came (bounded: `check` says what is still missing)."""
    deadline = time.monotonic() + SETTLE_SECONDS

    def done() -> bool:
        if any(set(p.tasks) - p.streamed for p in people):
            return False
        events = [r.json() for r in receiver.requests()]
        created = {e["data"]["id"] for e in events if e["type"] == "task.created"}
        fired = {e["data"]["reminder"]["id"] for e in events if e["type"] == "reminder.fired"}
        subjects = {str(m["Subject"]) for m in box.messages()}
        for person in people:
            if set(person.tasks) - created or set(person.reminders) - fired:
                return False
            for title, _ in person.reminders.values():
                if not any(s.startswith(f"Reminder: {title} ") for s in subjects):
                    return False
        return True

    while not done() and time.monotonic() < deadline:  # noqa: ASYNC110 (polls what others saw)
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)  # time to send anything twice, were it to


async def check(people: list[Person], record: Record, receiver: Receiver, box: Mailbox) -> Outcome:
    problems = _answer_problems(record)
    problems += [f"never acknowledged: {what}" for what in record.gave_up]
    for person in people:
        titles = await listed_titles(person)
        for task_id, title in person.tasks.items():
            if titles[title] != 1:
                problems.append(f"{title} ({task_id}) is there {titles[title]} times")
        missed = set(person.tasks) - person.streamed
        if missed:
            problems.append(f"person {person.n}'s stream missed {sorted(missed)}")
        if person.stream_resets:
            problems.append(f"person {person.n}'s stream was reset {person.stream_resets} times")
    hook_problems, hook_counts = _webhook_problems(people, receiver)
    kills = sum(1 for name, *_ in record.faults if name.startswith("kill"))
    reminder_problems, reminder_counts = _reminder_problems(people, receiver, box, kills)
    statuses = Counter(f"{a.status}{' (proxy)' if a.from_proxy else ''}" for a in record.answers)
    errors = [
        (a.kind, a.status, round(a.at, 2), "proxy" if a.from_proxy else "service", a.detail[:60])
        for a in record.answers
        if a.status >= 500
    ]
    counts: dict[str, Any] = {
        "requests": len(record.answers),
        "server_errors": errors,
        "by_status": dict(sorted(statuses.items())),
        "acknowledged_writes": sum(len(p.tasks) for p in people),
        "stream_opens": sum(p.stream_opens for p in people),
        **hook_counts,
        **reminder_counts,
    }
    return Outcome(problems + hook_problems + reminder_problems, counts)


Fault = tuple[float, str, Callable[[], None]]  # seconds into the load, name, what to do


async def run(
    base: str,
    receiver: Receiver,
    box: Mailbox,
    *,
    people: int,
    seconds: float,
    faults: list[Fault],
    sample: Callable[[], dict[str, Any]] | None = None,
) -> tuple[list[Person], Record, list[dict[str, Any]]]:
    """`people` acting through `base` for `seconds` while `faults` happen (each in a thread, in
    turn, at its time); `sample()` every second meanwhile. Then waits for the service to catch
    up (`settle`). Reminders are set only while they will come due within the load."""
    record = Record()
    crowd = [await sign_up(base, n, record, receiver) for n in range(people)]
    record.started = time.monotonic()
    stop, stop_acting = asyncio.Event(), asyncio.Event()
    remind_until = record.started + seconds - 6
    streams = [asyncio.create_task(follow_stream(p, record, stop)) for p in crowd]
    actors = [asyncio.create_task(keep_acting(p, record, stop_acting, remind_until)) for p in crowd]
    samples: list[dict[str, Any]] = []

    async def sampling() -> None:
        while not stop.is_set():
            if sample is not None:
                at = time.monotonic() - record.started
                samples.append({"at": round(at, 1), **await asyncio.to_thread(sample)})
            await asyncio.sleep(1)

    sampler = asyncio.create_task(sampling())
    try:
        for at, name, fault in sorted(faults, key=lambda f: f[0]):
            await asyncio.sleep(max(0.0, record.started + at - time.monotonic()))
            began = time.monotonic() - record.started
            await asyncio.to_thread(fault)
            record.faults.append((name, began, time.monotonic() - record.started))
        await asyncio.sleep(max(0.0, record.started + seconds - time.monotonic()))
    finally:
        # Each person finishes what they are doing; streams go on until everything has come.
        stop_acting.set()
        await asyncio.gather(*actors, return_exceptions=True)
        record.seconds = time.monotonic() - record.started
    await settle(crowd, receiver, box)
    stop.set()
    for task in (*streams, sampler):
        task.cancel()
    await asyncio.gather(*streams, sampler, return_exceptions=True)
    return crowd, record, samples


async def close(people: list[Person]) -> None:
    for person in people:
        await person.api.aclose()
        await person.web.aclose()
