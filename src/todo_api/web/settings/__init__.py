"""The web app's settings (`/app/settings`): the frame (pages.py), and a page per group, each in
its own module."""
