"""What a client sends and gets back for the people of a shared list: invitation links,
members and a new owner."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from todo_api.kit.access import Role
from todo_api.kit.inputs import UUID_EXAMPLE, Input, WholeNumber, email_address

INVITATION_DAYS_DEFAULT = 7
INVITATION_DAYS_MAX = 30
# Far longer than any token the service makes (43 characters): a longer one is a mistake.
TOKEN_MAX_LENGTH = 512
TOKEN_EXAMPLE = "kQ3v9x2Lh0cW7tYbN4mR8sJpE1aUfZ6gD5oI_-qVnHw"
CREATED_EXAMPLE = "2026-11-23T09:00:00Z"
EXPIRES_EXAMPLE = "2026-11-30T09:00:00Z"

# The role an invitation gives, or the owner gives a member: never `owner`.
MemberRole = Annotated[
    Literal["editor", "viewer"],
    Field(
        description="`editor`: reads the list and changes its tasks; `viewer`: only reads",
        examples=["editor"],
    ),
]


EMAIL_MAX_LENGTH = 320


class InvitationCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"role": "editor", "expires_in_days": 7}]}
    )

    role: MemberRole
    expires_in_days: WholeNumber = Field(
        INVITATION_DAYS_DEFAULT,
        ge=1,
        le=INVITATION_DAYS_MAX,
        description="How many days the link may be used, by anyone who has it",
        examples=[INVITATION_DAYS_DEFAULT],
    )
    email: Annotated[str | None, BeforeValidator(email_address)] = Field(
        None,
        max_length=EMAIL_MAX_LENGTH,
        description="Also send the link to this address, in an invitation email from you "
        "(at most 20 an hour; 503 EMAIL_UNAVAILABLE when the service sends no email)",
        examples=["ben@example.com"],
    )


class InvitationRead(BaseModel):
    """An invitation link as its list's owner sees it listed: without its token."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": UUID_EXAMPLE,
                    "role": "editor",
                    "expires_at": EXPIRES_EXAMPLE,
                    "created_at": CREATED_EXAMPLE,
                }
            ]
        }
    )

    id: uuid.UUID
    role: Literal["editor", "viewer"] = Field(description="The role the link gives")
    expires_at: datetime = Field(description="The link works until then")
    created_at: datetime


class InvitationCreated(BaseModel):
    """A new invitation link, with its token: shown in this answer only."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": UUID_EXAMPLE,
                    "token": TOKEN_EXAMPLE,
                    "role": "editor",
                    "expires_at": EXPIRES_EXAMPLE,
                    "created_at": CREATED_EXAMPLE,
                }
            ]
        }
    )

    id: uuid.UUID
    token: str = Field(
        description="What the invited send to POST /api/invitations/accept; shown in this "
        "answer only (the service keeps only its hash)",
        examples=[TOKEN_EXAMPLE],
    )
    role: Literal["editor", "viewer"] = Field(description="The role the link gives")
    expires_at: datetime = Field(description="The link works until then")
    created_at: datetime
    emailed: bool | None = Field(
        None,
        description="With `email`: whether the invitation email went (the link works either "
        "way); absent without it",
    )


class InvitationAccept(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [{"token": TOKEN_EXAMPLE}]})

    token: str = Field(
        min_length=1,
        max_length=TOKEN_MAX_LENGTH,
        description="The token of an invitation link",
        examples=[TOKEN_EXAMPLE],
    )


class MemberUpdate(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "viewer"}]})

    role: MemberRole


class OwnerChange(Input):
    """Who the owner hands the list over to."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"user_id": UUID_EXAMPLE}]})

    user_id: uuid.UUID = Field(
        description="A member of the list: its new owner (you stay on it as an editor)",
        examples=[UUID_EXAMPLE],
    )


class MemberRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user_id": UUID_EXAMPLE,
                    "email": "ada@example.com",
                    "name": "Ada Lovelace",
                    "role": "editor",
                    "joined_at": CREATED_EXAMPLE,
                }
            ]
        }
    )

    user_id: uuid.UUID
    email: str | None = Field(description="Null for a user whose token carried none")
    name: str | None
    role: Role = Field(description="`owner` (one per list), `editor` or `viewer`")
    joined_at: datetime = Field(description="When they joined (the owner: made the list)")


INVITATION_FIELDS = tuple(InvitationRead.model_fields)
MEMBER_FIELDS = tuple(MemberRead.model_fields)


def invitation_body(row: Mapping[str, Any]) -> dict[str, Any]:
    """An invitation as the owner sees it listed (InvitationRead's shape, not validated again)."""
    return {name: row[name] for name in INVITATION_FIELDS}


def member_body(row: Mapping[str, Any]) -> dict[str, Any]:
    """A member as the API shows them (MemberRead's shape, not validated again)."""
    return {name: row[name] for name in MEMBER_FIELDS}
