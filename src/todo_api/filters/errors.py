"""The errors of saved filters."""

from todo_api.kit.errors import Conflict, NotFound


class FilterNotFound(NotFound):
    """No such saved filter of this user's: the same answer for someone else's."""

    message = "Filter not found"


class FilterNameTaken(Conflict):
    message = "You already have a filter with this name (names ignore case)"


class TooManyFilters(Conflict):
    message = "You have as many saved filters as one may have (100)"
