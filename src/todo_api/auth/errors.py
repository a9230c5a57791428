"""The errors of signing in, of accounts and of tokens: each one class, its status and code set
once."""

import uuid

from todo_api.kit.errors import (
    ApiError,
    Conflict,
    ErrorCode,
    Forbidden,
    InvalidField,
    InvalidRequest,
    NotFound,
    RateLimited,
)

# How long a sign-in refused for want of a password hasher (HashingBusy) is asked to wait.
HASHING_BUSY_RETRY_AFTER_SECONDS = 1


def _bearer_challenge(message: str | None) -> dict[str, str]:
    if message is None:
        return {"WWW-Authenticate": "Bearer"}
    return {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'}


class Unauthorized(ApiError):
    status, code = 401, ErrorCode.UNAUTHORIZED

    def __init__(
        self, message: str = "Missing bearer token", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, headers=headers or _bearer_challenge(None))


class InvalidToken(ApiError):
    status, code = 401, ErrorCode.INVALID_TOKEN

    def __init__(self, message: str = "The token is not valid") -> None:
        super().__init__(message, headers=_bearer_challenge(message))


class TokenExpired(InvalidToken):
    code = ErrorCode.TOKEN_EXPIRED


class InvalidCredentials(ApiError):
    status, code = 401, ErrorCode.INVALID_CREDENTIALS

    def __init__(self, message: str = "Incorrect email or password") -> None:
        super().__init__(message, headers=_bearer_challenge(None))


class AuthUnavailable(ApiError):
    status, code = 503, ErrorCode.AUTH_UNAVAILABLE

    def __init__(
        self,
        retry_after: int,
        message: str = "The token issuer's keys cannot be fetched; try again shortly",
    ) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class HashingBusy(RateLimited):
    """Every password hasher is busy and its queue is full (todo_api.accounts.passwords)."""

    def __init__(self) -> None:
        super().__init__(
            HASHING_BUSY_RETRY_AFTER_SECONDS, "Too many sign-ins at once; try again in a moment"
        )


class SignInRevoked(InvalidToken):
    """A refresh token presented again after its grace: its whole sign-in is revoked.
    `family_id` names it when this revoked it, None when it was revoked already (a reuse
    racing the one that revoked it): only a revocation is told to the other processes."""

    def __init__(self, family_id: uuid.UUID | None) -> None:
        super().__init__("The refresh token was already used; sign in again")
        self.family_id = family_id


class EmailTaken(Conflict):
    message = "An account with this email already exists"


class RegistrationClosed(Forbidden):
    message = "Registration is closed on this service"


class InvitationRequired(Forbidden):
    message = "Registration needs a valid list invitation (the `invitation` token of a link)"


class UserNotFound(NotFound):
    message = "User not found"


class TokenNotFound(NotFound):
    """No such token for this user: the same answer for someone else's."""

    message = "Token not found"


class TooManyTokens(Conflict):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"You have {limit} personal access tokens, the most a user may have; revoke one first"
        )


class ReadOnlyToken(Forbidden):
    """A write with a token whose scope is `read`."""

    message = "This token's scope is read: it may only read (GET, HEAD and live updates)"


class SessionRequired(Forbidden):
    message = (
        "Tokens are managed with a signed-in session, not with a personal or app token "
        "(whatever its scope)"
    )


class ConnectionNotFound(NotFound):
    """No app of that client_id holds a grant of this user's (/api/connections)."""

    message = "Connection not found"


class SignInNotFound(NotFound):
    """No such sign-in of this user (or one ended): the same answer for someone else's."""

    message = "Sign-in not found"


class InvalidLink(InvalidField):
    """The token of an account email's link is unknown, used, expired or for another purpose."""

    def __init__(self) -> None:
        super().__init__("token", "The link is not valid, was used already, or has expired")


class EmailUnavailable(ApiError):
    status, code = 503, ErrorCode.EMAIL_UNAVAILABLE
    message = "This service sends no email (SMTP_URL is not set), so it cannot do this"


class EmailNotVerified(ApiError):
    """EMAIL_VERIFICATION=required, and the account's email is not confirmed yet (said only
    to whoever gave the right password)."""

    status, code = 403, ErrorCode.EMAIL_NOT_VERIFIED
    message = "Confirm your email first: follow the link sent to it (or ask for a new one)"


class PasskeyNotFound(NotFound):
    """No such passkey of this user's: the same answer for someone else's."""

    message = "Passkey not found"


class PasskeyRejected(InvalidField):
    """A registration's credential that does not check out (its challenge unknown, used or
    expired; its origin, relying party or attestation wrong): 400 naming `credential`."""

    def __init__(self, message: str) -> None:
        super().__init__("credential", message)


class PasskeyRegistered(Conflict):
    message = "This passkey is registered already"


class PasskeyNotAccepted(InvalidCredentials):
    """A sign-in with a passkey that does not check out, whatever the reason (unknown or
    deleted passkey, used or expired challenge, bad signature, signature count gone back):
    one answer, as for a wrong password."""

    def __init__(self) -> None:
        super().__init__("The passkey was not accepted")


class PasskeysNeedPublicUrl(InvalidRequest):
    """Without PUBLIC_URL, passkeys work only on localhost (todo_api.accounts.webauthn)."""

    message = (
        "Passkeys need PUBLIC_URL (the service's address, whose host is the relying party); "
        "without it they work only on localhost"
    )
