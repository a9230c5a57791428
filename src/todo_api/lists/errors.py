"""The errors of the lists domain."""

from todo_api.kit.errors import Conflict, Forbidden, NotFound, PreconditionFailed


class ListStaleVersion(PreconditionFailed):
    """The list exists, but not at any of the versions the write was conditional on."""

    message = "The list has changed since the version given in If-Match"


class ListNameTaken(Conflict):
    message = "You already have a list with this name (names ignore case)"


class ListForbidden(Forbidden):
    """A member asking what only the list's owner may do."""

    message = "Only the list's owner may change the list"


class InvitationNotFound(NotFound):
    """No such invitation link: unknown, expired and revoked ones are the same to a client."""

    message = "Invitation not found"


class MemberNotFound(NotFound):
    message = "Member not found"


class OwnerStays(Conflict):
    """The owner neither leaves the list nor gives up the owner role."""

    message = "The list's owner cannot leave it or take another role"


class SectionNotFound(NotFound):
    """No such section in a list the caller sees: the same answer for anyone else's."""

    message = "Section not found"


class SectionForbidden(Forbidden):
    """A viewer of the list asking to change its sections."""

    message = "You may see this list's sections but not change them (the list is shared to view)"


class SectionNameTaken(Conflict):
    message = "The list already has a section with this name (names ignore case)"


class TooManySections(Conflict):
    message = "The list has as many sections as one may have (100)"
