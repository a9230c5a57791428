"""Reading the settings: pydantic's error made one line that names each variable as it was set,
the database URLs checked at once, and the names set that are no setting (a typo would
otherwise do nothing)."""

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import AliasChoices

from todo_api.config.database import normalize_database_url
from todo_api.config.errors import ConfigError
from todo_api.config.settings import ENV_FILE, Settings

# Names that are no field of Settings but are read all the same: `todo-api serve` takes HOST
# and PORT from the environment; compose takes POSTGRES_PASSWORD from the same `.env`
# (.env.example).
OTHER_VARIABLES = frozenset({"HOST", "PORT", "POSTGRES_PASSWORD"})


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning pydantic's error into one line that names each variable as
    it was set (`PORT`, `database_pool_size`, `BETTER_AUTH_SECRET`)."""
    from pydantic import ValidationError

    as_set = _names_as_set(overrides.get("_env_file", ENV_FILE))
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_variable(err['loc'], as_set)}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
    # The URLs now, not on first use.
    normalize_database_url(
        settings.database_url or settings.default_sqlite_url(), _variable(("database_url",), as_set)
    )
    if settings.database_direct_url:
        normalize_database_url(
            settings.database_direct_url, _variable(("database_direct_url",), as_set)
        )
    return settings


def _env_file_names(env_file: Any) -> list[str]:
    """The names a `.env` file sets, as written (none when there is no such file)."""
    if not env_file or not Path(env_file).is_file():
        return []
    return list(dotenv_values(env_file))


def _names_as_set(env_file: Any) -> dict[str, str]:
    """Each variable set, upper-cased, to its name as written (the environment wins over
    `.env`, as it does for the values)."""
    names = {name.upper(): name for name in _env_file_names(env_file)}
    names.update({name.upper(): name for name in os.environ})
    return names


def _variable(loc: tuple[int | str, ...], as_set: Mapping[str, str]) -> str:
    """The variable an error of the setting at `loc` is about, as the user wrote it."""
    if not loc:
        return "settings"
    field = Settings.model_fields.get(str(loc[0]))
    candidates = [str(loc[0]).upper()]
    if field is not None and isinstance(field.validation_alias, AliasChoices):
        candidates += [str(choice).upper() for choice in field.validation_alias.choices]
    return next((as_set[name] for name in candidates if name in as_set), candidates[0])


@functools.cache
@functools.cache
def setting_names() -> frozenset[str]:
    """Every name the service reads, upper-cased (the environment's case does not matter)."""
    names = set(OTHER_VARIABLES)
    for name, field in Settings.model_fields.items():
        names.add(name.upper())
        if isinstance(field.validation_alias, AliasChoices):
            names.update(str(choice).upper() for choice in field.validation_alias.choices)
    return frozenset(names)


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein's distance, or `limit + 1` once it is sure to pass `limit` (difflib has
    ratios, not edit distances). Every process start compares each variable of its
    environment with the settings of about its length: most pairs differ from their first
    letters, and their rows pass the limit after a few."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        if min(current) > limit:  # a row's least value never falls in the rows after it
            return limit + 1
        previous = current
    return previous[-1]


def resembled_setting(name: str) -> str | None:
    """The setting `name` looks like a typo of: at most 2 edits away, and fewer for short
    names (1 for up to 7 letters), so that HOME is not taken for HOST nor TERM for PORT."""
    upper = name.upper()
    if upper in (known := setting_names()):
        return None
    # Only names within 2 letters of its length can be 2 edits away (a container has hundreds).
    near = (setting for setting in known if abs(len(setting) - len(upper)) <= 2)
    distance, closest = min(((_edit_distance(upper, s, 2), s) for s in near), default=(3, ""))
    return closest if distance <= min(2, max(1, len(closest) // 4)) else None


def misnamed_variables(
    environ: Mapping[str, str] | None = None, env_file: Any = ENV_FILE
) -> list[str]:
    """One warning line for each name that is no setting but close to one (in the environment
    or `.env`), and for every other name in `.env`: a typo would otherwise do nothing."""
    environ = os.environ if environ is None else environ
    known = setting_names()
    lines = []
    for name in sorted(environ):
        if (resembles := resembled_setting(name)) is not None:
            lines.append(f"{name} is not a setting; did you mean {resembles}?")
    for name in _env_file_names(env_file):
        if name.upper() in known:
            continue
        resembles = resembled_setting(name)
        hint = f"; did you mean {resembles}?" if resembles else " (docs/configuration.md)"
        lines.append(f"{env_file}: {name} is not a setting{hint}")
    return lines
