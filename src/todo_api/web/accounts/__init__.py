"""The web app's pages for an account: signing in and out, signing up, a forgotten password,
confirming an email, and an invitation link carried through signing in."""
