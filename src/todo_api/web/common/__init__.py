"""What every page of the web app shares: rendering in the person's language and the signed-in
gate (site), its words, how values are shown, its static files and icons, and what every page
carries: the manifest and service worker, the live updates' stream. Imports no area's room."""
