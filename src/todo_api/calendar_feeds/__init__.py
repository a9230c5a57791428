"""Calendar feeds: a read-only iCalendar URL of a person's tasks for calendar apps."""
