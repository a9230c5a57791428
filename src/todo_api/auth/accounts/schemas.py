"""What clients send to and get from the account routes beyond signing in."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from todo_api.auth.schemas import Email, Password
from todo_api.kit.inputs import UUID_EXAMPLE, Input

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
