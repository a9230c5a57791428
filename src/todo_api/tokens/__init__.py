"""Personal access tokens for scripts and apps: making, listing and revoking them (their check on
each request is todo_api.auth.personal)."""
