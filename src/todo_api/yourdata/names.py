"""A list's name made free among a user's lists (an import, a list handed over on an
account's deletion): the name, or the name with a number, "Groceries (2)"."""

from todo_api.tables import keys
from todo_api.tables.lists import NAME_MAX_LENGTH


def free_name(name: str, taken: set[str]) -> str:
    """`name`, or with the first number that makes its key none of `taken` (name keys)."""
    candidate, number = name, 1
    while keys.name_key(candidate) in taken:
        number += 1
        suffix = f" ({number})"
        candidate = name[: NAME_MAX_LENGTH - len(suffix)].rstrip() + suffix
    return candidate
