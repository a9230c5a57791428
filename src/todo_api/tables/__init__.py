"""Every table, imported in one place for Alembic and for the schema test."""

from typing import Any

from sqlmodel import SQLModel

from todo_api.tables.accounts import AccountToken, RecoveryCode, SignIn
from todo_api.tables.activity import Activity
from todo_api.tables.attachments import Attachment, AttachmentTombstone
from todo_api.tables.calendar_feeds import CalendarFeed
from todo_api.tables.comments import CommentTombstone, TaskComment
from todo_api.tables.completions import TaskCompletion
from todo_api.tables.dav import DavCollection, DavFilterSync, DavObject
from todo_api.tables.deleted_tasks import DeletedTask
from todo_api.tables.filters import SavedFilter
from todo_api.tables.idempotency import IdempotencyKey
from todo_api.tables.inbound import InboundAddress, InboundMessage
from todo_api.tables.jobs import JobRun
from todo_api.tables.list_views import ListView
from todo_api.tables.lists import (
    ListInvitation,
    ListMember,
    ListTombstone,
    MemberTombstone,
    TaskList,
)
from todo_api.tables.live import EventTicket
from todo_api.tables.notifications import (
    Notification,
    NotificationEmail,
    NotificationScan,
    NotificationSettings,
)
from todo_api.tables.oauth import OAuthClient, OAuthGrant, OAuthToken
from todo_api.tables.oidc import OidcCode, OidcIdentity
from todo_api.tables.passkeys import Passkey, PasskeyChallenge
from todo_api.tables.push import PushMessage, PushSubscription
from todo_api.tables.read_positions import ReadPosition
from todo_api.tables.reminders import ReminderEmail, ReminderEvent, ReminderFire
from todo_api.tables.sections import Section, SectionTombstone
from todo_api.tables.tasks import (
    MIGRATION_ONLY_INDEXES,
    POSTGRESQL_ONLY_FOREIGN_KEYS,
    SQLITE_ONLY_TABLES,
    Task,
    TaskCount,
    TaskDeparture,
    TaskTombstone,
)
from todo_api.tables.tokens import PersonalToken
from todo_api.tables.users import RefreshToken, User
from todo_api.tables.webhooks import Webhook, WebhookDelivery

metadata = SQLModel.metadata


# Indexes whose SQLite form differs from the model's (an expression SQLite cannot reflect).
SQLITE_OWN_INDEXES = frozenset({"uq_users_email_lower"})


def include_in_comparison(
    obj: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any, *, dialect: str
) -> bool:
    """For Alembic's autogenerate: leave out what only the migrations create, per dialect."""
    if type_ == "index":
        if dialect == "sqlite" and name in SQLITE_OWN_INDEXES:
            return False
        return name not in MIGRATION_ONLY_INDEXES
    if type_ == "table":
        return name not in SQLITE_ONLY_TABLES
    if type_ == "foreign_key_constraint" and dialect == "sqlite":
        return name not in POSTGRESQL_ONLY_FOREIGN_KEYS
    return True


__all__ = [
    "AccountToken",
    "Activity",
    "Attachment",
    "AttachmentTombstone",
    "CalendarFeed",
    "CommentTombstone",
    "DavCollection",
    "DavFilterSync",
    "DavObject",
    "DeletedTask",
    "EventTicket",
    "IdempotencyKey",
    "InboundAddress",
    "InboundMessage",
    "JobRun",
    "ListInvitation",
    "ListMember",
    "ListTombstone",
    "ListView",
    "MemberTombstone",
    "Notification",
    "NotificationEmail",
    "NotificationScan",
    "NotificationSettings",
    "OAuthClient",
    "OAuthGrant",
    "OAuthToken",
    "OidcCode",
    "OidcIdentity",
    "Passkey",
    "PasskeyChallenge",
    "PersonalToken",
    "PushMessage",
    "PushSubscription",
    "ReadPosition",
    "RecoveryCode",
    "RefreshToken",
    "ReminderEmail",
    "ReminderEvent",
    "ReminderFire",
    "SavedFilter",
    "Section",
    "SectionTombstone",
    "SignIn",
    "Task",
    "TaskComment",
    "TaskCompletion",
    "TaskCount",
    "TaskDeparture",
    "TaskList",
    "TaskTombstone",
    "User",
    "Webhook",
    "WebhookDelivery",
    "include_in_comparison",
    "metadata",
]
