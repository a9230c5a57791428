"""An invitation link opened in the browser (`/app/invitations/{token}`): a page naming the
list and its owner; signed in, with `Join list`; signed out, with `Sign in` (the invitation
carried through it, todo_api.web.accounts.invited: the person is in the list once signed in) and
`Create account` (the sign-up with the invitation: the new account joins as it is made). A
token that names nothing counts as a failed accept does in the API (per person, or signed
out per address), so that the page is no quicker way to guess tokens than `POST
/api/invitations/accept`."""

import math
import uuid
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.accounts.requests import client_address
from todo_api.db import Connection
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ApiError, ListNotFound, RateLimited
from todo_api.kit.ratelimit import RateLimiter
from todo_api.lists import service as lists
from todo_api.lists import sharing
from todo_api.lists.errors import InvitationNotFound
from todo_api.lists.members import ACCEPT_FAILURES_PER_MINUTE, ACCEPT_WINDOW_SECONDS
from todo_api.lists.sharing_schemas import TOKEN_MAX_LENGTH
from todo_api.web.accounts.invited import CarriedInvitations
from todo_api.web.common.site import SIGN_IN, Site, problem, redirect, user_id

PAGE = "/app/invitations/{token}"


class InvitationPages:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.carried = CarriedInvitations(site)

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PAGE, self.invitation, methods=["GET"]),
            Route(PAGE, self.site.signed_in(self.join, writes=True), methods=["POST"]),
        ]

    async def invitation(self, request: Request) -> Response:
        signed_in = await self.site.signins.current(request)
        if signed_in is None:  # signed out (or ended)
            return await self.signed_out(request)
        return await self.site.signed_in(self.page)(request)

    async def signed_out(self, request: Request) -> Response:
        token = request.path_params["token"][:TOKEN_MAX_LENGTH]
        key = f"invitations:accept:ip:{client_address(request)}"
        status, message, found, sign_in, sign_up = 200, "", None, "", ""
        async with database(request).connection() as conn:
            try:
                await self._not_limited(request, key)
                found = await sharing.invited_to(conn, token)
            except InvitationNotFound as exc:
                await self._failed(request, key)
                status, message = exc.status, problem(exc)
            except ApiError as exc:  # too many unknown tokens
                status, message = exc.status, problem(exc)
        if found is not None:
            owner = found.owner_name or found.owner_email
            carried = self.carried.carry(request, token, found.name, owner)
            sign_in = f"{SIGN_IN}?{urlencode({'invitation': carried})}"
            if self.site.settings.registration != "closed":
                sign_up = f"/app/signup?{urlencode({'invitation': token})}"
        return self.site.render(
            request,
            "invitation.html",
            status,
            invited=found,
            message=message,
            sign_in=sign_in,
            sign_up=sign_up,
        )

    async def page(
        self, request: Request, signed_in: BrowserSignIn, *, status: int = 200, message: str = ""
    ) -> Response:
        me = user_id(signed_in)
        token = request.path_params["token"][:TOKEN_MAX_LENGTH]
        found, member = None, False
        async with database(request).connection() as conn:
            try:
                await self._not_limited(request, _key(me))
                found = await sharing.invited_to(conn, token)
            except InvitationNotFound as exc:
                await self._failed(request, _key(me))
                status, message = exc.status, problem(exc)
            except ApiError as exc:  # too many unknown tokens
                status, message = exc.status, problem(exc)
            if found is not None:
                member = await _member_of(conn, me, found["list_id"])
        return self.site.render(
            request,
            "invitation.html",
            status,
            user=signed_in.user,
            invited=found,
            member=member,
            message=message,
        )

    async def join(self, request: Request, signed_in: BrowserSignIn) -> Response:
        me = user_id(signed_in)
        token = request.path_params["token"][:TOKEN_MAX_LENGTH]
        try:
            await self._not_limited(request, _key(me))
            async with database(request).connection() as conn:
                joined = await sharing.accept(conn, me, token)
        except InvitationNotFound:  # the page says so (and counts the failure)
            return await self.page(request, signed_in)
        except ApiError as exc:
            return await self.page(request, signed_in, status=exc.status, message=problem(exc))
        return redirect(f"/app/lists/{joined['id']}")

    # The API's limit on unknown tokens, in the same counter (per user; signed out, per address).

    async def _not_limited(self, request: Request, key: str) -> None:
        failures, remaining = await held(request.app, RateLimiter).counter.peek(key)
        if failures >= ACCEPT_FAILURES_PER_MINUTE:
            raise RateLimited(max(1, math.ceil(remaining)))

    async def _failed(self, request: Request, key: str) -> None:
        await held(request.app, RateLimiter).counter.hit(key, ACCEPT_WINDOW_SECONDS)


def _key(me: uuid.UUID) -> str:
    return f"invitations:accept:user:{me}"


async def _member_of(conn: Connection, me: uuid.UUID, list_id: uuid.UUID) -> bool:
    try:
        await lists.get_list(conn, me, list_id)
    except ListNotFound:
        return False
    return True
