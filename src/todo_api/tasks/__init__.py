"""The tasks domain: table, schemas, queries and routes."""
