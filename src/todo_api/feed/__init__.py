"""The change feed served to clients: tasks and lists, created, changed and deleted, since a
sync token. It composes the domains (as mcp/ does); the stream itself is the kit's
(todo_api.kit.changes)."""
