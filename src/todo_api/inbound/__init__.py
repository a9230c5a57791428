"""Tasks by email: each list's address, and the mail that comes to it (by SMTP or a provider's
webhook) made into tasks."""
