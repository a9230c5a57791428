"""The web app's notifications: the bell and its page, and the push subscriptions a page's
script makes."""
