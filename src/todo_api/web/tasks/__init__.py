"""The web app's tasks and lists: the lists' pages (as a list, a board or a calendar), the
sidebar, sections, saved filters, many tasks at once, a task's own page and its files, a list's
sharing."""
