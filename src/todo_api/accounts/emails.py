"""The account emails (a reset link, a link to confirm an address, a notice of a change) and
their sending, in the background of the request that asked for them.

A route that sends one answers before anything is looked up or sent (`Mailer.submit`): its
answer is the same, in the same time, whether the address belongs to an account or not, and a
slow mail server slows nobody's request. Sending goes through todo_api.kit.mail (the headers
and safety rules of every email of the service), with a few retries on a temporary failure.
The link's token is never written anywhere but the email: if a process stops before sending,
the person asks again (a reminder, by contrast, is kept in an outbox until sent).

The emails anyone can cause by typing an address (a reset link, a link to confirm it, the
notice that someone registered with it) are capped per recipient across them all
(`Mailer.send_unasked`): beyond UNASKED_PER_HOUR an hour nothing is sent, and since the answer
went before, it is the same either way; nobody can flood a mailbox through the service.

Each email speaks its recipient's language (kit.catalogs.language_of): the account's setting,
else that of the request that caused it (its `Accept-Language`), else English.

Every link is ACCOUNT_URL_TEMPLATE with `{action}` and `{token}` replaced (a frontend's page),
else `{PUBLIC_URL}/account/{action}?token={token}` (the service's own page: pages.py).
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from sqlalchemy import bindparam, func, select

from todo_api.auth.errors import EmailUnavailable
from todo_api.config import Settings
from todo_api.db import Database, Query
from todo_api.kit import mail
from todo_api.kit.catalogs import language_of
from todo_api.kit.ids import new_id, utcnow
from todo_api.kit.ratelimit import Counter
from todo_api.tables.users import users

log = logging.getLogger("todo_api")

# Delays before each retry of a temporary failure (seconds).
RETRIES = (2.0, 10.0, 30.0)
UNASKED_PER_HOUR = 5
RESET_ACTION = "reset-password"
VERIFY_ACTION = "verify-email"
_LANGUAGE = Query(select(users.c.language).where(func.lower(users.c.email) == bindparam("email")))


def require_email(settings: Settings) -> None:
    """503 EMAIL_UNAVAILABLE unless emails can be sent, with links in them."""
    if not settings.sends_account_email:
        raise EmailUnavailable


def link(settings: Settings, action: str, token: str) -> str:
    if settings.account_url_template:
        template = settings.account_url_template
        return template.replace("{action}", action).replace("{token}", quote(token, safe=""))
    assert settings.public_url is not None
    return f"{settings.public_url}/account/{action}?token={quote(token, safe='')}"


def reset_email(settings: Settings, recipient: str, token: str, language: str) -> mail.Email:
    _ = mail.words(language)
    paragraphs = [
        _("Someone (we hope you) asked to reset the password of the account with this email."),
        _("Choose a new password here (the link works once, for one hour):\n%(link)s")
        % {"link": link(settings, RESET_ACTION, token)},
        _(
            "A new password signs you out everywhere. If you did not ask for this, ignore this\n"
            "email: your password stays as it is."
        ),
    ]
    return _email(recipient, _("Reset your password"), paragraphs)


def verify_email(
    settings: Settings, recipient: str, token: str, language: str, *, change: bool
) -> mail.Email:
    _ = mail.words(language)
    if change:
        opening = _(
            "Open this link to make this your account's email (it works once, for 48 hours):\n"
            "%(link)s"
        )
    else:
        opening = _(
            "Open this link to confirm this email for your account (it works once, for 48 "
            "hours):\n%(link)s"
        )
    paragraphs = [
        opening % {"link": link(settings, VERIFY_ACTION, token)},
        _("If you did not ask for this, ignore this email."),
    ]
    return _email(recipient, _("Confirm your email"), paragraphs)


def sign_up_notice(recipient: str, language: str) -> mail.Email:
    _ = mail.words(language)
    paragraphs = [
        _("Someone tried to create an account with this email, which already has one."),
        _(
            "If it was you, sign in instead; if you forgot your password, ask for a reset link on\n"
            "the sign-in page. If it was not you, ignore this email: nothing changed."
        ),
    ]
    return _email(recipient, _("You already have an account"), paragraphs)


def email_change_notice(recipient: str, new_email: str, language: str) -> mail.Email:
    _ = mail.words(language)
    paragraphs = [
        _("Someone asked to change your account's email to %(email)s.") % {"email": new_email},
        _(
            "It changes once the new address is confirmed from the link sent there. If this was\n"
            "not you, change your password now: whoever asked knows it."
        ),
    ]
    return _email(recipient, _("Your account's email is being changed"), paragraphs)


def password_changed_notice(recipient: str, language: str) -> mail.Email:
    _ = mail.words(language)
    paragraphs = [
        _("The password of your account was just changed, and every other sign-in ended."),
        _("If this was not you, reset your password now."),
    ]
    return _email(recipient, _("Your password was changed"), paragraphs)


def wrong_codes_notice(recipient: str, language: str) -> mail.Email:
    _ = mail.words(language)
    paragraphs = [
        _(
            "Your password was just used to sign in to your account, and wrong two-factor codes\n"
            "were entered, too many of them: signing in with a code is paused for 15 minutes."
        ),
        _("If this was not you, someone knows your password: reset it now, on the sign-in page."),
    ]
    return _email(recipient, _("Wrong codes were entered for your account"), paragraphs)


def _email(recipient: str, subject: str, paragraphs: list[str]) -> mail.Email:
    return mail.Email(
        recipient=recipient,
        subject=subject,
        body="\n\n".join(paragraphs) + "\n",
        created_at=utcnow(),
        local_id=f"account-{new_id()}",
    )


class Mailer:
    """Sends account emails in the background of the requests that asked for them, with the
    service's settings and database (`settings`, `db`: what the emails' lookups use)."""

    def __init__(
        self,
        settings: Settings,
        counter: Counter,
        db: Database,
        retries: tuple[float, ...] = RETRIES,
    ) -> None:
        self.settings = settings
        self._counter = counter
        self.db = db
        self._retries = retries
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` (which looks things up and calls `send`) after the answer: its failure
        is logged, never raised."""
        task = asyncio.create_task(self._run(work), name=f"account-email-{uuid.uuid4().hex[:8]}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("an account email was not sent: %s", type(exc).__name__)

    async def send(self, email: mail.Email) -> bool:
        """Send it, trying again after each delay of a temporary failure; whether it went."""
        for delay in (*self._retries, None):
            error, final = await mail.send(self.settings, email)
            if error is None:
                return True
            if final or delay is None:
                log.warning("account email %s failed for good: %s", email.local_id, error)
                return False
            log.info("account email %s: %s; trying again in %g s", email.local_id, error, delay)
            await asyncio.sleep(delay)
        return False

    async def send_unasked(self, email: mail.Email) -> bool:
        """Send an email that anyone may cause by typing its address, unless its recipient had
        UNASKED_PER_HOUR of them in the hour (then nothing is sent); whether it went."""
        key = f"mail:unasked:{email.recipient.lower()}"
        count, _ = await self._counter.hit(key, 3600)
        if count > UNASKED_PER_HOUR:
            log.info("account email %s not sent: its recipient's hourly cap", email.local_id)
            return False
        return await self.send(email)

    def wrong_codes_entered(self, recipient: str) -> None:
        """Tell the owner that their password was used and wrong codes were entered (in the
        language of their setting, else English: the notice is not their request's answer)."""

        async def tell() -> None:
            async with self.db.connection() as conn:
                setting = (await conn.execute(_LANGUAGE, {"email": recipient.lower()})).scalar()
            await self.send(wrong_codes_notice(recipient, language_of(setting, None)))

        self.submit(tell)

    async def close(self, grace: float = 5.0) -> None:
        """Let the emails under way finish for `grace` seconds, then cancel the rest."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
