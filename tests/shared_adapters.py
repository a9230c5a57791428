"""One pydantic TypeAdapter for each kind of FastAPI field in a test process, shared by its apps.

FastAPI builds every route's fields again for each app, on the app's first request (0.165:
`_EffectiveRouteContext.from_api_route`), and each field builds a pydantic `TypeAdapter`: about
0.15 s of CPU an app. The tests make hundreds of apps, each with settings of its own, and this
was over half of the CPU of the test processes that make them. An adapter is a function of its
field's annotation, metadata, attributes and config alone (`ModelField.__post_init__` sets
nothing else), so a field equal in all four takes the adapter already built. Values compare by
equality with their type (1 is not True); classes and functions, by identity; a field holding a
value that cannot be hashed or made a tuple builds its own, as before. A private use of
FastAPI's: tests/test_private_api.py checks it is still as this module takes it.
"""

import functools
from collections.abc import Callable, Hashable
from typing import Any

from fastapi._compat import v2


class _Unshared(Exception):
    """A value that cannot be hashed nor made a tuple: its field builds its own adapter."""


def _frozen(value: Any) -> Hashable:
    """`value` as a key: equal keys only for values that build the same adapter."""
    if isinstance(value, list | tuple):
        return (type(value), *(_frozen(item) for item in value))
    if isinstance(value, dict):
        return (dict, *sorted((repr(k), _frozen(v)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        raise _Unshared from None
    return (type(value), value)


def _key(field: Any) -> Hashable | None:
    described = v2.asdict(field.field_info)
    try:
        return tuple(
            _frozen(part)
            for part in (
                described["annotation"],
                described["metadata"],
                described["attributes"],
                field.config,
            )
        )
    except _Unshared:
        return None


def share_type_adapters() -> None:
    """Patch `ModelField.__post_init__` to take an equal field's adapter when there is one."""
    original: Callable[[Any], None] = v2.ModelField.__post_init__
    built: dict[Hashable, Any] = {}

    @functools.wraps(original)  # its __wrapped__ is FastAPI's own
    def post_init(field: Any) -> None:
        key = _key(field)
        if key is not None and key in built:
            field._type_adapter = built[key]
            return
        original(field)
        if key is not None:
            built[key] = field._type_adapter

    v2.ModelField.__post_init__ = post_init  # type: ignore[method-assign]
