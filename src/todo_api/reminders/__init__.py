"""Reminders: firing each once at its time (webhooks, live streams, email), and listing them."""
