"""Live updates: `GET /api/events` pushes a user's change feed as Server-Sent Events.

- `router.py`: the routes (the stream, its tickets), each message a page of the change feed
  (todo_api.feed.pages) with its sync token as the message's id.
- `hub.py`: a process's open streams, the per-user limit, and what wakes them.
- `wakeups.py`: telling the other processes and instances that a user wrote (PostgreSQL
  LISTEN/NOTIFY or Redis pub/sub), and why the application says it rather than a trigger.
- `tickets.py`: single-use tickets for browsers' EventSource; `scheduled.py` prunes them.
"""
