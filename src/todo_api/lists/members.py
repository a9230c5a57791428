"""The routes of a shared list's people: invitation links, accepting one, members, handing the
list over. Parse, call the service (`todo_api.lists.sharing`, `succession`), shape the
response."""

import math
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response, status

from todo_api.auth import caller
from todo_api.config import Settings
from todo_api.kit.deps import held
from todo_api.kit.errors import InvalidField, RateLimited, error_responses
from todo_api.kit.http import NO_CONTENT, documented, json_response, no_content, read_json
from todo_api.kit.inputs import id_in_path, parse_id
from todo_api.kit.ratelimit import RateLimiter
from todo_api.lists import invitation_mail, sharing, succession
from todo_api.lists.dependencies import ListIdPath, parse_list_id
from todo_api.lists.errors import InvitationNotFound, MemberNotFound
from todo_api.lists.router import ETAG_HEADER, list_response
from todo_api.lists.schemas import ListRead
from todo_api.lists.sharing_schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationCreated,
    InvitationRead,
    MemberRead,
    MemberUpdate,
    OwnerChange,
    invitation_body,
    member_body,
)

LIST = "/api/lists/{list_id}"
router = APIRouter(tags=["sharing"], responses=error_responses(401, 500, 503))

# Someone who keeps sending tokens that name no invitation is slowed as failed sign-ins are:
# past this many failures in a minute, 429 until the minute is over. Only failures count, so
# a valid token is never refused.
ACCEPT_FAILURES_PER_MINUTE = 20
ACCEPT_WINDOW_SECONDS = 60

InvitationIdPath = Annotated[str, id_in_path("The invitation's id")]
MemberIdPath = Annotated[str, id_in_path("The member's user id")]


# --- invitations ----------------------------------------------------------------------------


@router.post(
    f"{LIST}/invitations",
    response_model=InvitationCreated,
    status_code=status.HTTP_201_CREATED,
    responses={
        **error_responses(400, 403, 404, 413, 429, 503),
        201: {
            "description": "The link, with its token: shown in this answer only",
            "headers": {
                "Cache-Control": {
                    "description": "no-store: the token is kept by no cache",
                    "schema": {"type": "string"},
                }
            },
        },
    },
    summary="Make an invitation link to the list (its owner only)",
    openapi_extra=documented(body=InvitationCreate),
)
async def create_invitation(list_id: ListIdPath, request: Request) -> Response:
    call = await caller(request)
    list_uuid = parse_list_id(list_id)
    data = await read_json(request, InvitationCreate)
    settings = held(request.app, Settings)
    if data.email is not None:  # (refused before anything is made)
        counter = held(request.app, RateLimiter).counter
        await invitation_mail.take_turn(settings, counter, call.user_id)
    created = await call.run(sharing.create_invitation, list_uuid, data)
    body: dict[str, Any] = dict(created)
    if data.email is not None:
        language = request.headers.get("accept-language")
        async with call.connection() as conn:
            body["emailed"] = await invitation_mail.send(
                conn, settings, call.user_id, list_uuid, created, data.email, language
            )
    return json_response(body, status.HTTP_201_CREATED, {"Cache-Control": "no-store"})


@router.get(
    f"{LIST}/invitations",
    response_model=list[InvitationRead],
    responses=error_responses(403, 404),
    summary="The list's invitation links not yet expired, newest first, without their tokens "
    "(its owner only)",
)
async def list_invitations(list_id: ListIdPath, request: Request) -> Response:
    call = await caller(request)
    rows = await call.run(sharing.invitations, parse_list_id(list_id))
    return json_response([invitation_body(row) for row in rows])


@router.delete(
    f"{LIST}/invitations/{{invitation_id}}",
    **NO_CONTENT,
    responses=error_responses(403, 404),
    summary="Revoke an invitation link: its token works no more (the list's owner only)",
)
async def revoke_invitation(
    list_id: ListIdPath, invitation_id: InvitationIdPath, request: Request
) -> Response:
    call = await caller(request)
    list_uuid = parse_list_id(list_id)
    invitation_uuid = parse_id(invitation_id, InvitationNotFound)
    await call.run(sharing.revoke_invitation, list_uuid, invitation_uuid)
    return no_content()


@router.post(
    "/api/invitations/accept",
    response_model=ListRead,
    responses={
        **error_responses(400, 404, 413, 429),
        200: {"description": "The list, as you now see it", "headers": ETAG_HEADER},
    },
    summary="Join a list with an invitation link's token (a member already: nothing changes)",
    openapi_extra=documented(body=InvitationAccept),
)
async def accept_invitation(request: Request) -> Response:
    call = await caller(request)
    data = await read_json(request, InvitationAccept)
    counter = held(request.app, RateLimiter).counter
    key = f"invitations:accept:user:{call.user_id}"
    # A user with ACCEPT_FAILURES_PER_MINUTE unknown tokens in the window is refused every
    # accept until it passes, the right token included: a guesser learns nothing from which
    # of their tries would have worked.
    failures, remaining = await counter.peek(key)
    if failures >= ACCEPT_FAILURES_PER_MINUTE:
        raise RateLimited(max(1, math.ceil(remaining)))
    try:
        row = await call.run(sharing.accept, data.token)
    except InvitationNotFound:
        await counter.hit(key, ACCEPT_WINDOW_SECONDS)  # per user, in the sign-in counters
        raise
    return list_response(row)


# --- members --------------------------------------------------------------------------------


@router.get(
    f"{LIST}/members",
    response_model=list[MemberRead],
    responses=error_responses(404),
    summary="Everyone with access to the list: the owner first, then by when they joined",
)
async def list_members(list_id: ListIdPath, request: Request) -> Response:
    call = await caller(request)
    rows = await call.run(sharing.members, parse_list_id(list_id))
    return json_response([member_body(row) for row in rows])


@router.patch(
    f"{LIST}/members/{{user_id}}",
    response_model=MemberRead,
    responses=error_responses(400, 403, 404, 409, 413),
    summary="Give a member another role (the list's owner only; the owner's own role stays)",
    openapi_extra=documented(body=MemberUpdate),
)
async def change_member_role(
    list_id: ListIdPath, user_id: MemberIdPath, request: Request
) -> Response:
    call = await caller(request)
    list_uuid = parse_list_id(list_id)
    member_uuid = parse_id(user_id, MemberNotFound)
    data = await read_json(request, MemberUpdate)
    row = await call.run(sharing.change_role, list_uuid, member_uuid, data.role)
    return json_response(member_body(row))


@router.delete(
    f"{LIST}/members/{{user_id}}",
    **NO_CONTENT,
    responses=error_responses(403, 404, 409),
    summary="Remove a member (the list's owner), or leave the list (your own user id; the "
    "owner cannot leave: 409)",
)
async def remove_member(list_id: ListIdPath, user_id: MemberIdPath, request: Request) -> Response:
    call = await caller(request)
    list_uuid = parse_list_id(list_id)
    member_uuid = parse_id(user_id, MemberNotFound)
    await call.run(sharing.remove, list_uuid, member_uuid)
    return no_content()


@router.post(
    f"{LIST}/owner",
    response_model=ListRead,
    responses={
        **error_responses(400, 403, 404, 409, 413),
        200: {"description": "The list, as you (now an editor) see it", "headers": ETAG_HEADER},
    },
    summary="Hand the list over to one of its members (the list's owner only): they become its "
    "owner and its tasks theirs; you stay on it as an editor",
    openapi_extra=documented(body=OwnerChange),
)
async def hand_over(list_id: ListIdPath, request: Request) -> Response:
    call = await caller(request)
    list_uuid = parse_list_id(list_id)
    data = await read_json(request, OwnerChange)
    try:
        row = await call.run(succession.hand_over, list_uuid, data.user_id)
    except MemberNotFound:  # an id in the body: 400 naming it, as for things that do not exist
        raise InvalidField("user_id", "is not a member of the list") from None
    return list_response(row)
