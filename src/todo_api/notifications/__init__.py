"""Notifications: what needs a user's attention, made from the activity of what they see."""
