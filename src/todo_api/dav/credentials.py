"""Who is calling /dav: `Authorization: Bearer` as on /api, or HTTP Basic whose password is
a token (the user name is not checked). Calendar apps only know Basic."""

import base64
import binascii

from starlette.requests import Request

from todo_api.auth.dependencies import authenticate_token
from todo_api.auth.tokens import Identity


class NoCredentials(Exception):
    """No credentials, or unreadable ones: 401 with a Basic challenge."""


async def identify(request: Request) -> Identity:
    """The caller; raises NoCredentials, or the token's own 401 (or 503) errors."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return await authenticate_token(request, value)
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise NoCredentials from None
        _user, colon, password = decoded.partition(":")
        if colon and password:
            return await password_identity(request, password)
    raise NoCredentials


async def password_identity(request: Request, password: str) -> Identity:
    """The one place a Basic password is checked: it is a token, checked as /api checks a
    bearer token."""
    return await authenticate_token(request, password)
