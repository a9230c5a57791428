"""The errors of the lists domain."""

from todo_api.kit.errors import Conflict, Forbidden, NotFound, PreconditionFailed


class ListNotFound(NotFound):
    """No such list for this user: the same answer for someone else's list."""

    def __init__(self) -> None:
        super().__init__("List not found")


class ListStaleVersion(PreconditionFailed):
    """The list exists, but not at any of the versions the write was conditional on."""

    def __init__(self) -> None:
        super().__init__("The list has changed since the version given in If-Match")


class ListNameTaken(Conflict):
    def __init__(self) -> None:
        super().__init__("You already have a list with this name (names ignore case)")


class ListForbidden(Forbidden):
    """A member asking what only the list's owner may do."""

    def __init__(self, message: str = "Only the list's owner may change the list") -> None:
        super().__init__(message)


class InvitationNotFound(NotFound):
    """No such invitation link: unknown, expired and revoked ones are the same to a client."""

    def __init__(self) -> None:
        super().__init__("Invitation not found")


class MemberNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Member not found")


class OwnerStays(Conflict):
    """The owner neither leaves the list nor gives up the owner role."""

    def __init__(self) -> None:
        super().__init__("The list's owner cannot leave it or take another role")
