"""Conditional writes (If-Match) in the write statement itself, for any row with a `version`."""

from typing import Any

from sqlalchemy import ColumnElement, Integer, bindparam, false

# The versions a conditional write accepts (from If-Match); None writes unconditionally.
Versions = frozenset[int] | None


def matching_versions(column: ColumnElement[Any], count: int | None) -> list[Any]:
    """`version IN (...)` with a parameter per version If-Match named; None: unconditional.
    An If-Match that names no usable version matches nothing."""
    if count is None:
        return []
    if count == 0:
        return [false()]
    names = [bindparam(f"if_match_{i}", type_=Integer()) for i in range(count)]
    return [column.in_(names)]


def version_count(versions: Versions) -> int | None:
    """What shapes the statement: how many versions it compares with (None: unconditional)."""
    return None if versions is None else len(versions)


def versions_params(versions: Versions) -> dict[str, int]:
    if not versions:  # unconditional (most writes): no parameters
        return {}
    return {f"if_match_{i}": v for i, v in enumerate(sorted(versions))}
