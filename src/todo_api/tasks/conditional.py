"""HTTP preconditions for tasks (RFC 9110): ETag, If-Match, If-None-Match.

A task's ETag is its version, which moves on every write. If-Match is compared strongly and is
carried into the write statement itself; If-None-Match is compared weakly.
"""

from typing import Annotated, Any

from fastapi import Header, Response

from todo_api.tasks.service import Versions


def etag(version: int) -> str:
    return f'"{version}"'


def _entity_tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _version(tag: str) -> int | None:
    if len(tag) >= 2 and tag[0] == tag[-1] == '"' and tag[1:-1].isdigit():
        return int(tag[1:-1])
    return None


async def if_match(
    header: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="Write only if the task is still at this ETag (else 412)",
            examples=['"3"'],
        ),
    ] = None,
) -> Versions:
    """The versions a write may apply to; None when unconditional (no header, or `*`)."""
    if header is None or header.strip() == "*":
        return None
    # Strong comparison: a weak tag (W/"3") matches nothing; neither does a malformed one.
    versions = (_version(tag) for tag in _entity_tags(header))
    return frozenset(v for v in versions if v is not None)


def matches_none(header: str | None, version: int) -> bool:
    """False when If-None-Match names the current version (weakly) or is `*`: answer 304."""
    if header is None:
        return True
    if header.strip() == "*":
        return False
    return all(_version(tag.removeprefix("W/")) != version for tag in _entity_tags(header))


def with_etag(response: Response, task: Any) -> Any:
    """Put the task's ETag on the response and hand the task back."""
    version = task["version"] if isinstance(task, dict) else task.version
    response.headers["ETag"] = etag(version)
    return task
