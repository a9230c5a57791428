"""Who is calling: token verification, the current-user dependency, user rows."""
