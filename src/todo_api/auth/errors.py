"""The errors of signing in and of tokens: each one class, its status and code set once."""

from todo_api.kit.errors import ApiError, ErrorCode


def _bearer_challenge(message: str | None) -> dict[str, str]:
    if message is None:
        return {"WWW-Authenticate": "Bearer"}
    return {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'}


class Unauthorized(ApiError):
    status, code = 401, ErrorCode.UNAUTHORIZED

    def __init__(self, message: str = "Missing bearer token") -> None:
        super().__init__(message, headers=_bearer_challenge(None))


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


class RateLimited(ApiError):
    status, code = 429, ErrorCode.RATE_LIMITED

    def __init__(
        self, retry_after: int, message: str = "Too many attempts; try again later"
    ) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class AuthUnavailable(ApiError):
    status, code = 503, ErrorCode.AUTH_UNAVAILABLE

    def __init__(
        self,
        retry_after: int,
        message: str = "The token issuer's keys cannot be fetched; try again shortly",
    ) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
