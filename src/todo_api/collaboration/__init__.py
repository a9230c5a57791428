"""Working together on tasks: comments (with mentions of members)."""
