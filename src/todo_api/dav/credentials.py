"""Who is calling /dav: HTTP Basic whose password is a personal access token (the user name is
not checked; calendar apps only know Basic), or `Authorization: Bearer` as on /api. Both are
`todo_api.auth.authenticate`'s, which also refuses a `read` token's writes."""

from starlette.requests import Request

from todo_api.auth import Identity, authenticate


class NoCredentials(Exception):
    """No credentials: 401 with a Basic challenge."""


async def identify(request: Request) -> Identity:
    """The caller; raises NoCredentials, or the token's own 401 (or 503, or a read token's
    403) errors."""
    if not request.headers.get("authorization", "").strip():
        raise NoCredentials
    return await authenticate(request, basic=True)
