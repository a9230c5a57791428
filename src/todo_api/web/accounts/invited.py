"""An invitation carried through signing in: the invitation page (signed out) gives its `Sign
in` link a value naming the token, the list and who invited, signed for this browser (its form
key's cookie) and good for an hour; the sign-in's forms (password, the code from the
authenticator app, a passkey) and the trip to the identity provider and back carry it along,
and once signed in the person joins the list at once. A value made for another browser,
altered or too old is ignored, so a link made by someone else joins nobody to anything: only
the page that named the list to this browser starts it. It is never an address to go to (the
list's page is found from the token)."""

import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import Request

from todo_api.kit.deps import database
from todo_api.kit.signing import InvalidToken, Signer
from todo_api.lists import sharing
from todo_api.lists.errors import InvitationNotFound
from todo_api.web.common.site import Site

CARRIED_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Invited:
    """What the sign-in page says (`list`, `owner`) and does (`token`) with the invitation;
    `carried` is the signed value its forms pass on."""

    token: str
    list: str
    owner: str
    carried: str


class CarriedInvitations:
    def __init__(self, site: Site) -> None:
        self._site = site
        self._signer = Signer(site.settings.signing_secret(), "web:invitation")

    def carry(self, request: Request, token: str, list_name: str, owner: str) -> str:
        browser = self._site.signins.browser(request)
        return self._signer.dumps([int(time.time()), token, list_name, owner], browser)

    def read(self, request: Request, value: object) -> Invited | None:
        """The invitation `value` carries, if this service gave it to this browser lately."""
        browser = request.cookies.get(self._site.signins.browser_cookie)
        if not browser or not isinstance(value, str) or len(value) > 2048:
            return None
        try:
            found: Any = self._signer.loads(value, browser)
        except InvalidToken:
            return None
        if not (isinstance(found, list) and len(found) == 4 and isinstance(found[0], int)):
            return None
        if time.time() - found[0] >= CARRIED_SECONDS:
            return None
        return Invited(token=str(found[1]), list=str(found[2]), owner=str(found[3]), carried=value)

    async def join(self, request: Request, user_id: uuid.UUID, invited: Invited) -> str:
        """The person (just signed in) joins the list: its page, to go to next; the invitation's
        page (which says why) if the invitation has been revoked or has expired since."""
        try:
            async with database(request).connection() as conn:
                joined = await sharing.accept(conn, user_id, invited.token)
        except InvitationNotFound:
            return f"/app/invitations/{quote(invited.token, safe='')}"
        return f"/app/lists/{joined['id']}"
