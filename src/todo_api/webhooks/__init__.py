"""Webhooks: a user's endpoints, told of every change they can see, signed per Standard
Webhooks and never lost once the change committed.

- `router.py`, `schemas.py`, `errors.py`, `dependencies.py`: the routes under /api/webhooks.
- `service.py`: the webhooks' and deliveries' statements (creating, changing, ping, retry).
- `delivery.py`: sending the due deliveries (claimed with todo_api.kit.claims), signing,
  retries, and disabling a webhook that keeps failing.
- `targets.py`: which URLs may be targets, checked at creation and at each connection.
- `scheduled.py`: the jobs (sending, pruning old deliveries).

The events themselves are written by the domains that make the changes, in their transaction,
through todo_api.kit.events (the outbox).
"""
