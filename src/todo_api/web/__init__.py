"""The web app at /app/: pages rendered on the server from the domains' services (never the
HTTP API over the network), working without JavaScript; htmx (vendored in static/) only makes
them quicker. See docs/web-app.md.

pages.py gathers the routes of the rooms by area (accounts/, notifications/, settings/, tasks/:
none imports another), built on what every page shares (common/); templates/ and static/ are
the whole app's."""
