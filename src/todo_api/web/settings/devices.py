"""A sign-in's device in words ("Firefox on Windows"), read from the User-Agent it sent with
ua-parser (the User Agent String Parser project's rules, which the field shares).

Its rules are compiled as a user agent needs them (`load_lazy_builtins`: the eager default
compiles all of them, close to a second of CPU, on the first call); the first pages still
take a few hundred milliseconds, so the reading runs in a thread, off the event loop."""

import asyncio
import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ua_parser import Parser

# Families the rules give when they know nothing.
_UNKNOWN = frozenset({None, "Other"})


async def devices(user_agents: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
    """Each user agent's (browser, system), either None where the rules do not know it ("" for
    none sent)."""
    unique = {agent for agent in user_agents if agent}
    return await asyncio.to_thread(lambda: {agent: _read(agent) for agent in unique})


def device_words(
    user_agent: str,
    found: dict[str, tuple[str | None, str | None]],
    _: Callable[[str], str],
) -> str:
    """In words: "Firefox on Windows", what of it is known, or the user agent itself."""
    browser, system = found.get(user_agent, (None, None))
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or user_agent or _("Unknown device")


@functools.lru_cache(maxsize=1024)
def _read(user_agent: str) -> tuple[str | None, str | None]:
    from ua_parser import Domain

    result = _parser()(user_agent, Domain.USER_AGENT | Domain.OS)
    browser = result.user_agent.family if result.user_agent else None
    system = result.os.family if result.os else None
    return (
        None if browser in _UNKNOWN else browser,
        None if system in _UNKNOWN else system,
    )


@functools.cache
def _parser() -> "Parser":
    # Imported here, by the first security page a process shows: not on every start.
    from ua_parser import BasicResolver, Parser, load_lazy_builtins

    return Parser(BasicResolver(load_lazy_builtins()))
