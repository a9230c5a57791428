"""HTTP preconditions for tasks (RFC 9110): ETag, If-Match, If-None-Match.

A task's ETag is its version, which moves on every write. If-Match is compared strongly and is
carried into the write statement itself; If-None-Match is compared weakly.
"""

import re

from todo_api.http import header_parameter
from todo_api.versions import Versions

# A version is a positive 32-bit number; anything else names no version (and matches nothing).
_VERSION = re.compile(r'"([0-9]{1,10})"')
MAX_VERSION = 2**31 - 1

IF_MATCH = header_parameter(
    "If-Match",
    'Write only if the task is still at this ETag, such as "3" (else 412); * for any version',
    "*",
)
IF_NONE_MATCH = header_parameter(
    "If-None-Match", "Answer 304 if the task is still at this ETag", '"3"'
)


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
