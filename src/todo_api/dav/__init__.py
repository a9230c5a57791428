"""/dav: CalDAV (RFC 4791, 6578, 6764), so calendar and task apps sync the user's tasks two
ways. A list is a calendar collection, a task a `VTODO` object (todo_api.ical); every
write goes through the tasks and lists services, as /api's do."""
