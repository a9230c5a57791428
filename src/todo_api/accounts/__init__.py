"""The built-in identity provider: registration, password sign-in and refresh, a forgotten or
changed password, email verification, two-factor, sign-ins, passkeys and OpenID Connect sign-in,
with the pages and emails these take. Present when BUILTIN_ACCOUNTS is on (but `me`)."""
