"""A list's sharing page (`/app/lists/{id}/sharing`): its members and their roles, invitation
links (made with a role, shown once with a Copy link button and, given an address, sent in an
invitation email: todo_api.lists.invitation_mail; revoked), leaving the list and handing it
over to a member, and its address for tasks by email (copied, made anew, turned off, open to
others' mail or not; its owner and editors, with INBOUND_DOMAIN set). Every rule and message is
the domains' (`todo_api.lists.sharing`, `succession.hand_over`, `todo_api.inbound.addresses`),
as the API's routes give them."""

from typing import Any

from babel import dates as babel_dates
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.inbound import addresses
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ApiError
from todo_api.kit.http import public_base
from todo_api.kit.ratelimit import RateLimiter
from todo_api.lists import invitation_mail, sharing, succession
from todo_api.lists import service as lists
from todo_api.lists.sharing_schemas import InvitationCreate, MemberUpdate
from todo_api.web.common.site import APP, Site, parse_uuid, problem, redirect, user_id

ROLES = ("editor", "viewer")
PAGE = "/app/lists/{list_id}/sharing"
EMAIL = "/app/lists/{list_id}/email-address"


def invitation_link(request: Request, public_url: str | None, token: str) -> str:
    """The address a person opens to join: the app's invitation page, on the public URL."""
    return f"{public_base(request, public_url)}/app/invitations/{token}"


class SharingPages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        lists_path = "/app/lists/{list_id}"
        return [
            Route(PAGE, signed(self.page), methods=["GET"]),
            Route(f"{lists_path}/invitations", signed(self.invite, writes=True), methods=["POST"]),
            Route(
                f"{lists_path}/invitations/{{invitation_id}}/revoke",
                signed(self.revoke, writes=True),
                methods=["POST"],
            ),
            Route(
                f"{lists_path}/members/{{member_id}}/role",
                signed(self.change_role, writes=True),
                methods=["POST"],
            ),
            Route(
                f"{lists_path}/members/{{member_id}}/remove",
                signed(self.remove, writes=True),
                methods=["POST"],
            ),
            Route(f"{lists_path}/handover", signed(self.hand_over, writes=True), methods=["POST"]),
            Route(EMAIL, signed(self.new_address, writes=True), methods=["POST"]),
            Route(f"{EMAIL}/off", signed(self.address_off, writes=True), methods=["POST"]),
            Route(f"{EMAIL}/others", signed(self.others, writes=True), methods=["POST"]),
        ]

    async def page(
        self,
        request: Request,
        signed_in: BrowserSignIn,
        *,
        status: int = 200,
        message: str | None = None,
        **context: Any,
    ) -> Response:
        """The page; `message` (an alert) after a form that changed nothing."""
        me = user_id(signed_in)
        list_id = parse_uuid(request.path_params["list_id"])
        language = self.site.language(request)
        async with database(request).connection() as conn:
            found = await lists.get_list(conn, me, list_id)
            members = await sharing.members(conn, me, list_id)
            owner = found["role"] == "owner"
            links = await sharing.invitations(conn, me, list_id) if owner else []
            settings = self.site.settings
            inbound = None
            if settings.inbound_domain is not None and found["role"] in ("owner", "editor"):
                row = await addresses.settings_of(conn, me, list_id)
                secret = settings.signing_secret()
                inbound = addresses.shown(row, list_id, secret, settings.inbound_domain)
        shown = [
            {**link, "expires": babel_dates.format_date(link["expires_at"], locale=language)}
            for link in links
        ]
        return self.site.render(
            request,
            "sharing.html",
            status,
            user=signed_in.user,
            the_list=found,
            me=str(me),
            owner=owner,
            members=members,
            invitations=shown,
            roles=ROLES,
            inbound=inbound,
            sends_invitations=bool(self.site.settings.smtp_url and self.site.settings.public_url),
            message=message,
            **context,
        )

    async def invite(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """A new link: shown on the page answering this form, the only time it is seen."""
        list_id = parse_uuid(request.path_params["list_id"])
        form = await request.form()
        me = user_id(signed_in)
        settings = self.site.settings
        sent: bool | None = None
        try:
            email = str(form.get("email") or "").strip() or None
            data = InvitationCreate.model_validate({"role": form.get("role"), "email": email})
            if data.email is not None:  # (refused before anything is made)
                counter = held(request.app, RateLimiter).counter
                await invitation_mail.take_turn(settings, counter, me)
            async with database(request).connection() as conn:
                made = await sharing.create_invitation(conn, me, list_id, data)
                if data.email is not None:
                    language = self.site.language(request)
                    sent = await invitation_mail.send(
                        conn, settings, me, list_id, made, data.email, language
                    )
        except (ValidationError, ApiError) as exc:
            return await self.page(request, signed_in, status=_status(exc), message=problem(exc))
        link = invitation_link(request, settings.public_url, made["token"])
        shown = {"link": link, "role": made["role"], "email": data.email, "sent": sent}
        return await self.page(request, signed_in, made=shown)

    async def revoke(self, request: Request, signed_in: BrowserSignIn) -> Response:
        list_id = parse_uuid(request.path_params["list_id"])
        invitation_id = parse_uuid(request.path_params["invitation_id"])
        return await self._then_page(
            request,
            signed_in,
            sharing.revoke_invitation,
            list_id,
            invitation_id,
        )

    async def change_role(self, request: Request, signed_in: BrowserSignIn) -> Response:
        list_id = parse_uuid(request.path_params["list_id"])
        member_id = parse_uuid(request.path_params["member_id"])
        form = await request.form()
        try:
            data = MemberUpdate.model_validate({"role": form.get("role")})
        except ValidationError as exc:
            return await self.page(request, signed_in, status=400, message=problem(exc))
        return await self._then_page(
            request, signed_in, sharing.change_role, list_id, member_id, data.role
        )

    async def remove(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """The owner removes a member; a member leaves (then the list is theirs no more)."""
        list_id = parse_uuid(request.path_params["list_id"])
        member_id = parse_uuid(request.path_params["member_id"])
        answer = await self._then_page(request, signed_in, sharing.remove, list_id, member_id)
        if member_id == user_id(signed_in) and answer.status_code == 303:
            return redirect(APP)
        return answer

    async def hand_over(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """First the page asks to confirm (naming the member); the confirmed form hands over."""
        list_id = parse_uuid(request.path_params["list_id"])
        form = await request.form()
        heir = parse_uuid(str(form.get("member_id") or ""))
        if form.get("confirmed") != "yes":
            me = user_id(signed_in)
            async with database(request).connection() as conn:
                people = {m["user_id"]: m for m in await sharing.members(conn, me, list_id)}
            if me in people and people[me]["role"] == "owner" and heir in people and heir != me:
                return await self.page(request, signed_in, confirm=people[heir])
        return await self._then_page(request, signed_in, succession.hand_over, list_id, heir)

    async def new_address(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """A new address for tasks by email; the one before it stops working."""
        list_id = parse_uuid(request.path_params["list_id"])
        if self.site.settings.inbound_domain is None:
            return await self.page(
                request, signed_in, status=503, message=problem(addresses.InboundUnavailable())
            )
        secret = self.site.settings.signing_secret()
        return await self._then_page(request, signed_in, addresses.make_address, list_id, secret)

    async def address_off(self, request: Request, signed_in: BrowserSignIn) -> Response:
        list_id = parse_uuid(request.path_params["list_id"])
        return await self._then_page(request, signed_in, addresses.turn_off, list_id)

    async def others(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """Whether mail from people who are not the list's members makes tasks (a checkbox)."""
        list_id = parse_uuid(request.path_params["list_id"])
        allow = (await request.form()).get("allow_others") == "on"
        return await self._then_page(request, signed_in, addresses.allow_others, list_id, allow)

    async def _then_page(
        self, request: Request, signed_in: BrowserSignIn, change: Any, *args: Any
    ) -> Response:
        """Make the change, then back to the page (303), or the page with the refusal."""
        try:
            async with database(request).connection() as conn:
                await change(conn, user_id(signed_in), *args)
        except ApiError as exc:
            return await self.page(request, signed_in, status=exc.status, message=problem(exc))
        return redirect(PAGE.format(list_id=request.path_params["list_id"]))


def _status(exc: Exception) -> int:
    return exc.status if isinstance(exc, ApiError) else 400
