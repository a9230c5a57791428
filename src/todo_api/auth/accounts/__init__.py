"""What built-in accounts do beyond signing in: a forgotten password, a change of password
and of email, verifying an email, and the emails and pages these take."""
