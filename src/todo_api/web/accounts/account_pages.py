"""Making an account and getting back into one: sign up (per REGISTRATION, an invitation link
joining its list), forgot and reset password, and confirming an email (the pages the account
emails' links lead a browser to, through `/account/...`: todo_api.accounts.pages).

Each does what its route of /api/auth does, through the same services, counted against the
same limits; the answers to an email typed by anyone (forgot) are the same whether it has an
account or not, and under EMAIL_VERIFICATION=required so is sign-up's.
"""

import uuid
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts import emails, recovery, service, verification
from todo_api.accounts.registration import Invitations
from todo_api.accounts.requests import client_address, limiter_of, passwords_of
from todo_api.accounts.schemas import ForgotPassword, Register, ResetPassword
from todo_api.auth.errors import EmailTaken, InvalidLink, InvitationRequired, RegistrationClosed
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.kit import zones
from todo_api.kit.deps import database, held
from todo_api.kit.errors import RateLimited as Busy
from todo_api.kit.ratelimit import RateLimited
from todo_api.lists import sharing
from todo_api.web.common.messages import Gettext
from todo_api.web.common.shown import zone_alias
from todo_api.web.common.site import APP, Site, problem, redirect

MAX_TOKEN_LENGTH = 512


def dead_link(_: Gettext) -> str:
    return _("This link does not work: it was used already, or has expired. Ask for a new one.")


def _text(value: object, most: int) -> str:
    return value[:most] if isinstance(value, str) else ""


def _zone(value: object) -> str:
    """The browser's time zone (static/zone.js), if it is one this service knows (by the name
    Settings lists it under); else UTC."""
    name = _text(value, zones.ZONE_MAX_LENGTH)
    return zone_alias(name) if name in zones.known_zones() else zones.DEFAULT_ZONE


class AccountPages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/app/signup", self.sign_up_page, methods=["GET"]),
            Route("/app/signup", self.sign_up, methods=["POST"]),
            Route("/app/forgot", self.forgot_page, methods=["GET"]),
            Route("/app/forgot", self.forgot, methods=["POST"]),
            Route("/app/reset", self.reset_page, methods=["GET"]),
            Route("/app/reset", self.reset, methods=["POST"]),
            Route("/app/verify", self.verify_page, methods=["GET"]),
            Route("/app/verify", self.verify, methods=["POST"]),
        ]

    async def _form(self, request: Request) -> FormData | None:
        """The posted form, if it carries this browser's token (else None: refused)."""
        form = await request.form()
        if not self.site.signins.form_token_valid(request, form.get("csrf_token"), signed_in=False):
            return None
        return form

    async def _limited(self, request: Request, *keys: tuple[str, int]) -> bool:
        try:
            await limiter_of(request).check(*keys)
        except RateLimited:
            return True
        return False

    # Sign up

    def _sign_up(self, request: Request, status: int = 200, **context: Any) -> Response:
        settings = self.site.settings
        return self.site.render(
            request,
            "signup.html",
            status,
            registration=settings.registration,
            oidc_name=settings.oidc_name if settings.oidc_enabled else None,
            **context,
        )

    async def sign_up_page(self, request: Request) -> Response:
        invitation = _text(request.query_params.get("invitation"), MAX_TOKEN_LENGTH)
        return self._sign_up(request, invitation=invitation)

    async def sign_up(self, request: Request) -> Response:
        site, _ = self.site, self.site.words(request)
        form = await self._form(request)
        if form is None:
            return site.refused(request)
        fields = {
            "email": _text(form.get("email"), 1024),
            "password": _text(form.get("password"), 1024),
            "name": _text(form.get("name"), 1024).strip() or None,
            "invitation": _text(form.get("invitation"), MAX_TOKEN_LENGTH) or None,
        }
        shown = {"email": fields["email"], "name": fields["name"] or ""}
        invitation = fields["invitation"] or ""

        def again(status: int, message: str) -> Response:
            return self._sign_up(request, status, invitation=invitation, message=message, **shown)

        try:
            data = Register.model_validate(fields)
        except ValidationError as exc:
            return again(400, problem(exc))
        attempts = limiter_of(request).attempts
        if await self._limited(
            request,
            (f"register:ip:{client_address(request)}", attempts),
            (f"register:email:{data.email}", attempts),
        ):
            return again(429, _("Too many attempts; try again in a minute."))
        settings, db = site.settings, database(request)
        invitations, mailer = held(request.app, Invitations), held(request.app, emails.Mailer)
        asked_in = request.headers.get("accept-language")  # the emails' language: no setting yet
        try:
            row = await service.new_account(
                passwords_of(request),
                settings,
                data.email,
                data.password,
                data.name,
                data.invitation,
            )
            row["timezone"] = _zone(form.get("timezone"))
            if settings.email_verification_mode == "required":
                # Not signed in, and the same page whether or not the email was taken.
                created = await verification.register_pending(
                    db=db, invitations=invitations, row=row, invitation=data.invitation
                )
                tell = verification.send_link if created else verification.send_taken_notice
                mailer.submit(lambda: tell(mailer, data.email, asked_in))
                return self._sign_up(request, sent=data.email)
            async with db.transaction() as conn:
                user = await service.insert_account(conn, invitations, row, data.invitation)
                home = APP
                if user is not None and data.invitation:  # joined: its list first
                    home = f"/app/lists/{(await sharing.invited_to(conn, data.invitation)).list_id}"
        except RegistrationClosed:
            return again(403, _("Registration is closed on this service."))
        except InvitationRequired:
            if not data.invitation:
                return again(403, _("Signing up needs a valid invitation link."))
            return again(403, _("The invitation is not valid: unknown, revoked or expired."))
        except Busy:
            return again(429, _("The service is busy; try again shortly."))
        if user is None:
            return again(409, _("An account with this email already exists: sign in instead."))
        if settings.email_verification_mode == "optional":
            mailer.submit(lambda: verification.send_link(mailer, data.email, asked_in))
        response = redirect(home)  # a new account: signed in, its invitation's list joined
        await site.signins.sign_ins.start(request, response, uuid.UUID(str(user.id)))
        return response

    # Forgot and reset

    async def forgot_page(self, request: Request) -> Response:
        return self.site.render(request, "forgot.html", email_works=self._email_works())

    def _email_works(self) -> bool:
        return self.site.settings.sends_account_email

    async def forgot(self, request: Request) -> Response:
        site, _ = self.site, self.site.words(request)
        form = await self._form(request)
        if form is None:
            return site.refused(request)
        if not self._email_works():
            return site.render(request, "forgot.html", 503, email_works=False)
        email = _text(form.get("email"), 1024)
        try:
            data = ForgotPassword.model_validate({"email": email})
        except ValidationError as exc:
            message = problem(exc)
            return site.render(
                request, "forgot.html", 400, email_works=True, email=email, message=message
            )
        limiter, client = limiter_of(request), client_address(request)
        if await self._limited(
            request,
            (f"forgot:ip:{client}", limiter.address_attempts),
            (f"forgot:ip:{client}:email:{data.email}", limiter.attempts),
            (f"forgot:email:{data.email}", limiter.attempts),
        ):
            message = _("Too many attempts; try again in a minute.")
            return site.render(
                request, "forgot.html", 429, email_works=True, email=email, message=message
            )
        mailer = held(request.app, emails.Mailer)
        # Looked up and sent after the answer: known or not, the page is the same, as fast.
        asked_in = request.headers.get("accept-language")  # if the account sets no language
        mailer.submit(lambda: recovery.send_reset(mailer, data.email, asked_in))
        return site.render(request, "forgot.html", email_works=True, sent=data.email)

    async def reset_page(self, request: Request) -> Response:
        token = _text(request.query_params.get("token"), MAX_TOKEN_LENGTH)
        return self.site.render(request, "reset.html", token=token)

    async def reset(self, request: Request) -> Response:
        site, _ = self.site, self.site.words(request)
        form = await self._form(request)
        if form is None:
            return site.refused(request)
        token = _text(form.get("token"), MAX_TOKEN_LENGTH)

        def again(status: int, message: str) -> Response:
            return site.render(request, "reset.html", status, token=token, message=message)

        if await self._limited(request, self._per_address(request, "reset")):
            return again(429, _("Too many attempts; try again in a minute."))
        try:
            data = ResetPassword.model_validate({"token": token, "password": form.get("password")})
        except ValidationError as exc:
            return again(400, problem(exc))
        try:
            ended = await recovery.reset(
                db=database(request),
                passwords=passwords_of(request),
                token=data.token,
                password=data.password,
            )
        except InvalidLink:
            return again(
                400,
                dead_link(_),
            )
        except Busy:
            return again(429, _("The service is busy; try again shortly."))
        await held(request.app, KnownTokens).revoked(*ended)
        message = _("Your password is changed, and every sign-in has ended. Sign in with it.")
        return site.render(request, "signin.html", notice=message)

    def _per_address(self, request: Request, route: str) -> tuple[str, int]:
        return (f"{route}:ip:{client_address(request)}", limiter_of(request).attempts)

    # Confirming an email

    async def verify_page(self, request: Request) -> Response:
        # Opening the link changes nothing (mail scanners open links): a button confirms.
        token = _text(request.query_params.get("token"), MAX_TOKEN_LENGTH)
        return self.site.render(request, "verify.html", token=token)

    async def verify(self, request: Request) -> Response:
        site, _ = self.site, self.site.words(request)
        form = await self._form(request)
        if form is None:
            return site.refused(request)
        token = _text(form.get("token"), MAX_TOKEN_LENGTH)
        if await self._limited(request, self._per_address(request, "verify")):
            message = _("Too many attempts; try again in a minute.")
            return site.render(request, "verify.html", 429, token=token, message=message)
        try:
            signed_in = await site.signins.current(request)  # its sign-in stays
            row, ended = await verification.verify(
                db=database(request),
                token=token,
                keep=None if signed_in is None else signed_in.sign_in,
            )
        except InvalidLink:
            message = dead_link(_)
            return site.render(request, "verify.html", 400, message=message)
        except EmailTaken:
            message = _("Another account has this email now: it was not changed.")
            return site.render(request, "verify.html", 409, message=message)
        await held(request.app, KnownTokens).revoked(*ended)
        return site.render(request, "verify.html", confirmed=row.email)
