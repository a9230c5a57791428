"""The error of a configuration that cannot be used."""


class ConfigError(ValueError):
    """Raised when the configuration cannot be used; the message names the variable."""
