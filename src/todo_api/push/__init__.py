"""Reminders by Web Push: the browsers' subscriptions and sending to them."""
