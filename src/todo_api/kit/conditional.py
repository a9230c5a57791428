"""HTTP preconditions (RFC 9110) of every versioned resource (a task, a list): ETag, If-Match,
If-None-Match, and how a route documents them.

A resource's ETag is its version, which moves on every write. If-Match is compared strongly and
is carried into the write statement itself; If-None-Match is compared weakly.
"""

import re
from typing import Any, NamedTuple

from fastapi import Response

from todo_api.kit.errors import error_responses
from todo_api.kit.http import header_parameter
from todo_api.kit.versions import Versions

# A version is a positive 32-bit number; anything else names no version (and matches nothing).
_VERSION = re.compile(r'"([0-9]{1,10})"')
MAX_VERSION = 2**31 - 1


def etag(version: int) -> str:
    return f'"{version}"'


def _versions(header: str, *, weak: bool) -> set[int]:
    found = set()
    for tag in header.split(","):
        tag = tag.strip()
        if weak:
            tag = tag.removeprefix("W/")
        match = _VERSION.fullmatch(tag)
        if match is not None and int(match[1]) <= MAX_VERSION:
            found.add(int(match[1]))
    return found


def if_match(header: str | None) -> Versions:
    """The versions a write may apply to; None when unconditional (no header, or `*`)."""
    if header is None or header.strip() == "*":
        return None
    # Strong comparison: a weak tag (W/"3") matches nothing; neither does a malformed one.
    return frozenset(_versions(header, weak=False))


def matches_none(header: str | None, version: int) -> bool:
    """False when If-None-Match names the current version (weakly) or is `*`: answer 304."""
    if header is None:
        return True
    if header.strip() == "*":
        return False
    return version not in _versions(header, weak=True)


def not_modified(version: int) -> Response:
    """304 for an If-None-Match that names the current version."""
    return Response(status_code=304, headers={"ETag": etag(version)})


class Preconditions(NamedTuple):
    """How the routes of one kind of resource document their preconditions in OpenAPI."""

    if_match: dict[str, Any]  # the If-Match header parameter of its writes
    if_none_match: dict[str, Any]  # the If-None-Match header parameter of its GET
    etag_header: dict[str, Any]  # the ETag response header
    answer: dict[str, Any]  # the 200 response: the resource, with its ETag
    read_responses: dict[int | str, dict[str, Any]]  # the responses of its GET


def preconditions(resource: str) -> Preconditions:
    """The documentation of a resource's preconditions, `resource` naming it ("task")."""
    etag_header = {
        "ETag": {"description": f"The {resource}'s version", "schema": {"type": "string"}}
    }
    answer = {"description": f"The {resource}", "headers": etag_header}
    return Preconditions(
        if_match=header_parameter(
            "If-Match",
            f'Write only if the {resource} is still at this ETag, such as "3" (else 412); '
            "* for any version",
            "*",
        ),
        if_none_match=header_parameter(
            "If-None-Match", f"Answer 304 if the {resource} is still at this ETag", '"3"'
        ),
        etag_header=etag_header,
        answer=answer,
        read_responses={
            **error_responses(400, 404),
            200: answer,
            304: {"description": "Not modified (If-None-Match)"},
        },
    )
