"""The shared kit: building blocks every domain uses (conditional writes, the change feed,
ordering, idempotency, background jobs, claims). It imports no domain."""
