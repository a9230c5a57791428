"""todo-api: a multi-user tasks REST API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("todo-api")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
