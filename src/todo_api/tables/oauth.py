"""The built-in OAuth authorization server's rows (see todo_api.oauth): registered clients
(their secret kept as a SHA-256), grants (one user's consent to one app: its authorization code,
kept as a SHA-256, and the family of tokens it issued) and tokens (kept as their SHA-256).
Revoking a grant deletes it, and its tokens with it."""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, Text, Uuid
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime
from todo_api.tables.users import user_id_field
from todo_api.tables.versioned import timestamp_field

CLIENT_ID_MAX_LENGTH = 2048  # a registered client's UUID, or a metadata document's URL
CLIENT_NAME_MAX_LENGTH = 200
OAUTH_SCOPE_MAX_LENGTH = 100
HASH_LENGTH = 64


class OAuthClient(SQLModel, table=True):
    """A client registered at /oauth/register (RFC 7591)."""

    __tablename__ = "oauth_clients"
    # The clean-up job deletes the clients a week old (todo_api.oauth.store's `prune`).
    __table_args__ = (Index("ix_oauth_clients_created_at", "created_at"),)

    id: str = Field(sa_type=String(CLIENT_ID_MAX_LENGTH), primary_key=True)
    secret_hash: str | None = Field(default=None, sa_type=String(HASH_LENGTH))
    # The registered metadata as JSON (redirect_uris, client_name, token_endpoint_auth_method).
    document: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = timestamp_field()


class OAuthGrant(SQLModel, table=True):
    """A user's Allow for a client: the authorization code it made, then the tokens."""

    __tablename__ = "oauth_grants"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = user_id_field()
    client_id: str = Field(sa_type=String(CLIENT_ID_MAX_LENGTH), nullable=False)
    client_name: str = Field(sa_type=String(CLIENT_NAME_MAX_LENGTH), nullable=False)
    scope: str = Field(sa_type=String(OAUTH_SCOPE_MAX_LENGTH), nullable=False)
    resource: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    code_hash: str = Field(sa_type=String(HASH_LENGTH), nullable=False, unique=True)
    code_challenge: str = Field(sa_type=String(128), nullable=False)
    redirect_uri: str = Field(sa_column=Column(Text, nullable=False))
    redirect_uri_explicit: bool = Field(sa_column=Column(Boolean, nullable=False))
    code_expires_at: datetime = timestamp_field()
    # When the code was exchanged; a second exchange finds it set and revokes the grant.
    exchanged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = timestamp_field()
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Until when the grant is worth keeping: its code's expiry, then its latest refresh token's.
    expires_at: datetime = timestamp_field()

    __table_args__ = (
        Index("ix_oauth_grants_user_id_client_id", "user_id", "client_id"),
        Index("ix_oauth_grants_expires_at", "expires_at"),
        # Whether any grant names a client: the housekeeping keeps the clients one names.
        Index("ix_oauth_grants_client_id", "client_id"),
    )


class OAuthToken(SQLModel, table=True):
    """An access or refresh token of a grant."""

    __tablename__ = "oauth_tokens"

    id: uuid.UUID = Field(primary_key=True)
    grant_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("oauth_grants.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    kind: str = Field(sa_type=String(10), nullable=False)  # `access` or `refresh`
    token_hash: str = Field(sa_type=String(HASH_LENGTH), nullable=False, unique=True)
    scope: str = Field(sa_type=String(OAUTH_SCOPE_MAX_LENGTH), nullable=False)
    created_at: datetime = timestamp_field()
    expires_at: datetime = timestamp_field()
    # A refresh token's rotation: used once; a second use revokes the grant.
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (Index("ix_oauth_tokens_expires_at", "expires_at"),)


oauth_clients: Table = OAuthClient.__table__  # type: ignore[attr-defined]
oauth_grants: Table = OAuthGrant.__table__  # type: ignore[attr-defined]
oauth_tokens: Table = OAuthToken.__table__  # type: ignore[attr-defined]
