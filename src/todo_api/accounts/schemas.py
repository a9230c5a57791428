"""What clients send to and get from the account routes, signing in and beyond."""

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from todo_api.accounts.passwords import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from todo_api.auth.tokens import EMAIL_SHAPE, MAX_EMAIL_LENGTH, MAX_NAME_LENGTH
from todo_api.kit.inputs import (
    UUID_EXAMPLE,
    Change,
    Input,
    change_schema,
    email_address,
    refuse_null,
)
from todo_api.kit.text import (
    NAME_PATTERN,
    NO_NUL_PATTERN,
    one_line,
    storable,
)
from todo_api.kit.zones import ZoneName

# The same rule for OpenAPI, before the surrounding white space is trimmed.
EMAIL_PATTERN = rf"^\s*{EMAIL_SHAPE}\s*$"


def _strip(value: Any) -> Any:
    """Trimmed and in NFC, so that the length limit counts what is stored."""
    return unicodedata.normalize("NFC", value.strip()) if isinstance(value, str) else value


def _one_line(value: Any) -> Any:
    """A name goes into email headers, pages and logs: no CR, LF or other control character,
    at its ends included (refused before trimming)."""
    return one_line(value) if isinstance(value, str) else value


Email = Annotated[
    str,
    BeforeValidator(email_address),
    Field(
        max_length=MAX_EMAIL_LENGTH,
        examples=["ada@example.com"],
        json_schema_extra={"pattern": EMAIL_PATTERN},
    ),
]
Password = Annotated[
    str,
    Field(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        examples=["correct horse"],
        json_schema_extra={"pattern": NO_NUL_PATTERN},
    ),
    AfterValidator(storable),
]
Name = Annotated[
    str,
    BeforeValidator(_strip),
    BeforeValidator(_one_line),  # pydantic runs it before the one above: the name as sent
    Field(
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        examples=["Ada Lovelace"],
        json_schema_extra={"pattern": NAME_PATTERN},
    ),
    AfterValidator(storable),
]


class Register(Input):
    email: Email
    password: Password
    name: Name | None = None
    invitation: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=512,
            description="A list invitation's token: the new account joins that list "
            "(needed when REGISTRATION=invite)",
        ),
    ] = None


class Login(Input):
    email: Email
    # Any length is checked against the hash; the rules apply when a password is chosen.
    password: Annotated[
        str,
        Field(max_length=1024, json_schema_extra={"pattern": NO_NUL_PATTERN}),
        AfterValidator(storable),
    ]


class RefreshRequest(Input):
    refresh_token: Annotated[str, Field(min_length=1, max_length=512)]


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str | None
    name: str | None


# The languages the web app speaks (those quick add reads: words.LANGUAGES).
Language = Literal["en", "de", "fr", "es", "it", "pt", "nl"]
# The web app's colours; null: the system's (the browser's `prefers-color-scheme`).
Theme = Literal["light", "dark"]
# The day the web app's calendar starts a week on; null: the language's (Sunday in English).
WeekStart = Literal["monday", "sunday", "saturday"]


class Me(UserRead):
    timezone: str = Field(
        description="Your IANA time zone: your new tasks are read in it, and so is the "
        "listing's due_on",
        examples=["Europe/Berlin"],
    )
    language: Language | None = Field(
        default=None,
        description="The language the web app speaks to you; null: your browser's",
        examples=["de"],
    )
    theme: Theme | None = Field(
        default=None, description="The web app's colours; null: your system's", examples=["dark"]
    )
    week_start: WeekStart | None = Field(
        default=None,
        description="The first day of the week in the web app's calendar; null: your "
        "language's (Sunday in English, Monday in German)",
        examples=["monday"],
    )
    email_verified: bool = Field(
        default=False,
        description="Whether the email was confirmed (a link sent to it followed, or an "
        "identity provider saying so)",
    )
    created_at: datetime
    updated_at: datetime

    two_factor: bool = Field(
        default=False, description="Whether signing in takes a code from an authenticator app"
    )

    @model_validator(mode="before")
    @classmethod
    def _verified(cls, value: Any) -> Any:
        """A user's row says when two-factor was turned on; `me` says whether."""
        if isinstance(value, dict) and "totp_enabled_at" in value:
            return {**value, "two_factor": value["totp_enabled_at"] is not None}
        return value


class MeUpdate(Change):
    """What you change of yourself: your name (null: none), your time zone (links such as
    Asia/Calcutta are kept as given; it cannot be null; your tasks keep theirs), the web app's
    language (null: your browser's), its colours (`theme`; null: your system's) and the first day
    of the calendar's weeks (`week_start`; null: your language's)."""

    model_config = ConfigDict(json_schema_extra=change_schema("timezone"))

    name: Name | None = None
    timezone: ZoneName | None = None
    language: Language | None = Field(
        default=None, description="The web app's language; null: your browser's"
    )
    theme: Theme | None = Field(
        default=None, description="The web app's colours; null: your system's"
    )
    week_start: WeekStart | None = Field(
        default=None, description="The calendar's first day of the week; null: your language's"
    )

    _not_null = field_validator("timezone")(refuse_null)


class MfaRequired(BaseModel):
    """The password is right and two-factor sign-in is on: POST /api/auth/login/2fa with this
    token and a code (or a recovery code) gives the tokens."""

    mfa_required: Literal[True] = True
    mfa_token: str = Field(description="Good for 5 minutes and at most 5 wrong codes")


class Tokens(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str
    user: UserRead


LinkToken = Annotated[
    str,
    Field(
        min_length=1,
        max_length=512,
        description="The token of the emailed link (its `token` parameter)",
        examples=["Zp8s0c5m1W1i3g0u0Kf0bq0o8YwQv2xk9yT3nRhE1aA"],
    ),
]


class Accepted(BaseModel):
    status: Literal["accepted"] = Field(
        default="accepted",
        description="The same answer whether or not the email belongs to an account",
    )


class ForgotPassword(Input):
    email: Email


class ResetPassword(Input):
    token: LinkToken
    password: Password


class ChangePassword(Input):
    current_password: Annotated[str, Field(min_length=1, max_length=1024)]
    new_password: Password


class SignInRead(BaseModel):
    id: uuid.UUID = Field(examples=[UUID_EXAMPLE])
    created_at: datetime = Field(description="When it signed in")
    last_used_at: datetime = Field(description="When its tokens were last renewed")
    user_agent: str | None = Field(description="The User-Agent it signed in with")
    address: str | None = Field(
        description="The network it signed in from: an IPv4 /24 or an IPv6 /48",
        examples=["203.0.113.0/24"],
    )
    current: bool = Field(description="Whether it is the sign-in of the token asking")


class VerificationSent(BaseModel):
    verification: Literal["sent"] = "sent"


class VerifyEmail(Input):
    token: LinkToken


class ResendVerification(Input):
    email: Email


class ChangeEmail(Input):
    new_email: Email
    password: Annotated[str, Field(min_length=1, max_length=1024)]


AnyPassword = Annotated[str, Field(min_length=1, max_length=1024)]
Code = Annotated[str, Field(min_length=1, max_length=20, examples=["492039"])]


class TwoFactorSetup(Input):
    password: AnyPassword


class TwoFactorSecret(BaseModel):
    secret: str = Field(description="The secret, base32, for typing into an authenticator app")
    otpauth_uri: str = Field(description="The secret as an otpauth:// URI (what the QR code says)")
    qr_svg: str = Field(description="The otpauth_uri as a QR code, an SVG image")


class TwoFactorEnable(Input):
    code: Code


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(
        description="Ten codes, each good once instead of a code from the app; shown only here"
    )
    apps_ended: list[str] = Field(
        description="The apps whose connection ended (made without two-factor): each must be "
        "connected again",
        examples=[["Claude"]],
    )


class TwoFactorDisable(Input):
    password: AnyPassword
    code: Code


class SecondFactor(Input):
    # A code from the app or a recovery code: exactly one of them (a null is the same as one
    # left out), as the route checks.
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": [name], "properties": {name: {"type": "string"}}}
                for name in ("code", "recovery_code")
            ]
        }
    )

    mfa_token: Annotated[str, Field(min_length=1, max_length=1024)]
    code: Code | None = None
    recovery_code: Code | None = None
