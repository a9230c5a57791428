"""The service's settings, from the environment (or a `.env` file): `Settings` is one object,
made of a group per concern (a module each: accounts, database, http, limits, mail, push,
reminders, retention, webhooks, attachments, brand, inbound, replicas) and read by
`load_settings`. What other rooms import is re-exported here."""

from todo_api.config.accounts import (
    DEFAULT_HASH_ITERATIONS,
    DEFAULT_HASH_MEMORY_KIB,
    MIN_HASH_ITERATIONS,
    MIN_HASH_MEMORY_KIB,
    MIN_SECRET_BYTES,
    EmailVerification,
    Registration,
)
from todo_api.config.database import SQLITE_FILE_NAME, normalize_database_url
from todo_api.config.errors import ConfigError
from todo_api.config.loading import (
    OTHER_VARIABLES,
    load_settings,
    misnamed_variables,
    resembled_setting,
    setting_names,
)
from todo_api.config.mail import CONSOLE_MAIL
from todo_api.config.push import VAPID_KEYS
from todo_api.config.schedules import MAX_RETRIES, MAX_RETRY_DELAY_SECONDS
from todo_api.config.settings import (
    DEVELOPMENT_ORIGIN,
    ENV_FILE,
    SECRET_FILE_NAME,
    Environment,
    LogFormat,
    Settings,
)

__all__ = [
    "CONSOLE_MAIL",
    "DEFAULT_HASH_ITERATIONS",
    "DEFAULT_HASH_MEMORY_KIB",
    "DEVELOPMENT_ORIGIN",
    "ENV_FILE",
    "MAX_RETRIES",
    "MAX_RETRY_DELAY_SECONDS",
    "MIN_HASH_ITERATIONS",
    "MIN_HASH_MEMORY_KIB",
    "MIN_SECRET_BYTES",
    "OTHER_VARIABLES",
    "SECRET_FILE_NAME",
    "SQLITE_FILE_NAME",
    "VAPID_KEYS",
    "ConfigError",
    "EmailVerification",
    "Environment",
    "LogFormat",
    "Registration",
    "Settings",
    "load_settings",
    "misnamed_variables",
    "normalize_database_url",
    "resembled_setting",
    "setting_names",
]
