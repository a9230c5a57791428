"""The settings of attachments (todo_api.files): where their bytes go and how many there may be.

A group of its own, which `todo_api.config.Settings` inherits (its fields are settings like any
other: `ATTACHMENT_MAX_BYTES` in the environment or `.env`), as the other groups here are."""

from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

MIB = 1024 * 1024
# The most THUMBNAIL_MAX_PIXELS may be: Pillow's own decompression-bomb guard is set to it.
THUMBNAIL_PIXELS_CEILING = 100_000_000
FILE_SCHEME, S3_SCHEME = "file://", "s3://"


class AttachmentSettings(BaseSettings):
    # Where the bytes go: `file:///absolute/path` (a folder), or `s3://bucket/prefix` for any
    # S3-compatible store (the S3_* settings below). Unset: `attachments/` beside the SQLite
    # file (under DATA_DIR when the database is PostgreSQL).
    attachment_storage: str | None = None
    # With S3, a file's content is answered with a redirect to a URL signed for 5 minutes, so
    # the bytes go from the store to the client directly.
    attachment_presign: bool = False
    # The largest file (413 PAYLOAD_TOO_LARGE beyond it, before the rest is read).
    attachment_max_bytes: int = Field(default=25 * MIB, ge=1, le=5 * 1024 * MIB)
    # The bytes of all the files of one owner's tasks (413 QUOTA_EXCEEDED beyond them).
    attachment_quota_bytes: int = Field(default=1024 * MIB, ge=0)
    # A deleted task may be restored (POST /api/tasks/{id}/restore) this long, its files' bytes
    # kept; then they go at the storage's next sweep (todo_api.tasks.trash).
    deleted_task_grace_seconds: int = Field(default=600, ge=0, le=30 * 24 * 3600)
    # An image of more pixels is kept and served but gets no thumbnail (its thumbnail is 404):
    # decoding one costs about 4 bytes a pixel, so this bounds a thumbnail's memory.
    thumbnail_max_pixels: int = Field(default=25_000_000, ge=1, le=THUMBNAIL_PIXELS_CEILING)
    # The most an import's zip (the export with its files) may unpack to: its members' sizes as
    # its directory gives them, together (413 PAYLOAD_TOO_LARGE before anything is written).
    import_unpacked_max_bytes: int = Field(default=100 * MIB, ge=1)
    # An S3-compatible store: its URL (unset: AWS), region, and the key the service signs with
    # (unset: the usual AWS sources, such as an instance's role).
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None

    @field_validator("attachment_storage")
    @classmethod
    def _storage_url(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        url = url.strip()
        if url.startswith(FILE_SCHEME):
            if not url.removeprefix(FILE_SCHEME).startswith("/"):
                raise ValueError("a file:// location needs an absolute path (file:///srv/files)")
            return url
        if url.startswith(S3_SCHEME):
            if not url.removeprefix(S3_SCHEME).split("/", 1)[0]:
                raise ValueError("an s3:// location needs a bucket (s3://bucket/prefix)")
            return url
        raise ValueError("must be file:///path or s3://bucket/prefix")

    @field_validator("s3_endpoint_url")
    @classmethod
    def _endpoint(cls, url: Any) -> Any:
        if isinstance(url, str) and url and not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url or None
