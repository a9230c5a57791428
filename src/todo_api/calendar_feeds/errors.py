"""The errors of calendar feeds."""

from todo_api.kit.errors import Conflict, NotFound


class FeedNotFound(NotFound):
    """No such feed for this user, or no feed at that URL (a wrong or deleted secret)."""

    message = "Feed not found"


class TooManyFeeds(Conflict):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"You have {limit} calendar feeds, the most one may have; delete one first"
        )
