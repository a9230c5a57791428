"""Passkeys (WebAuthn): registering one to a signed-in account, and signing in with one, no
password or email typed (discoverable credentials). py_webauthn does the ceremonies: the
options, and every check of an answer (client data, origin, relying party, attestation,
signature, signature count); this module keeps the challenges and the credentials.

A challenge is handed out with the options and kept (hashed) for CHALLENGE_SECONDS; the answer
names it in its signed client data, and using it deletes it in the statement that finds it, so
of two uses of one answer (a replay, or two racing) one at most goes on. An authenticator that
counts its signatures must report a count past the last one seen: a count that goes back means
a cloned credential, and is refused.

The relying party is PUBLIC_URL's host. Without PUBLIC_URL (development), it is the host the
request was sent to when that is `localhost` (or a name under `.localhost`); other hosts are
refused then: a relying party taken from any Host header could not be relied on. The origins a
ceremony may come from are the service's own and FRONTEND_URL's (a frontend calling the API).

py_webauthn (with pyOpenSSL, pyasn1 and cbor2, 5 MB of a process) is loaded by the first
ceremony, not at start: many deployments never see a passkey.
"""

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import delete, insert, select, update

from todo_api.accounts.schemas import Tokens
from todo_api.accounts.service import get_user, issue_tokens
from todo_api.auth.errors import (
    EmailNotVerified,
    PasskeyNotAccepted,
    PasskeyNotFound,
    PasskeyRegistered,
    PasskeyRejected,
    PasskeysNeedPublicUrl,
)
from todo_api.config import Settings
from todo_api.db import Connection, Row, insert_or_ignore
from todo_api.kit.ids import new_id, utcnow
from todo_api.tables.passkeys import passkey_challenges, passkeys

if TYPE_CHECKING:
    from webauthn.helpers.structs import AuthenticationCredential, RegistrationCredential

RP_NAME = "Tasks"
CHALLENGE_SECONDS = 300
REGISTER, LOGIN = "register", "login"
DEFAULT_NAME = "Passkey"


@dataclass(frozen=True, slots=True)
class RelyingParty:
    id: str
    origins: list[str]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _is_localhost(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


def relying_party(settings: Settings, request_url: str) -> RelyingParty:
    """Who the passkeys are for (see the module's note), from the settings and, without
    PUBLIC_URL, the URL the request was sent to."""
    frontends = [_origin(url) for url in settings.frontend_url]
    if settings.public_url:
        host = urlsplit(settings.public_url).hostname or ""
        return RelyingParty(host, [_origin(settings.public_url), *frontends])
    host = urlsplit(request_url).hostname or ""
    if not _is_localhost(host):
        raise PasskeysNeedPublicUrl
    return RelyingParty(host, [_origin(request_url), *frontends])


def _digest(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


async def _keep_challenge(
    conn: Connection, challenge: bytes, purpose: str, user_id: uuid.UUID | None
) -> None:
    """Keep a new challenge; the expired ones go at the same time."""
    now = utcnow()
    await conn.execute(delete(passkey_challenges).where(passkey_challenges.c.expires_at <= now))
    await conn.execute(
        insert(passkey_challenges).values(
            challenge_hash=_digest(challenge),
            purpose=purpose,
            user_id=user_id,
            expires_at=now + timedelta(seconds=CHALLENGE_SECONDS),
        )
    )


async def _use_challenge(
    conn: Connection, client_data_json: bytes, purpose: str, user_id: uuid.UUID | None
) -> bytes | None:
    """The challenge the answer's client data names, if it was handed out for this purpose
    (and user) and is live; None otherwise. Either way it is used up (in a statement of its
    own, committed whatever follows): a failed answer cannot try it again."""
    from webauthn.helpers import parse_client_data_json
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        challenge = parse_client_data_json(client_data_json).challenge
    except (WebAuthnException, ValueError, TypeError):
        return None
    used = await conn.execute(
        delete(passkey_challenges)
        .where(
            passkey_challenges.c.challenge_hash == _digest(challenge),
            passkey_challenges.c.purpose == purpose,
            passkey_challenges.c.expires_at > utcnow(),
            passkey_challenges.c.user_id.is_(None)
            if user_id is None
            else passkey_challenges.c.user_id == user_id,
        )
        .returning(passkey_challenges.c.challenge_hash)
    )
    return challenge if used.first() is not None else None


async def registration_options(
    conn: Connection, user_id: uuid.UUID, rp: RelyingParty
) -> dict[str, Any]:
    """PublicKeyCredentialCreationOptions for the user, as JSON: a resident key and user
    verification preferred, the user's passkeys excluded (an authenticator holding one says
    so rather than making a second)."""
    from webauthn import generate_registration_options
    from webauthn.helpers import base64url_to_bytes, options_to_json_dict
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    user = await get_user(conn=conn, user_id=user_id)
    assert user is not None  # the caller's row exists once authenticated
    held = await conn.execute(select(passkeys.c.credential_id).where(passkeys.c.user_id == user_id))
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=RP_NAME,
        user_id=user_id.bytes,
        user_name=user.email or str(user_id),
        user_display_name=user.name or user.email or "",
        timeout=CHALLENGE_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(row.credential_id)) for row in held
        ],
    )
    await _keep_challenge(conn, options.challenge, REGISTER, user_id)
    return options_to_json_dict(options)


def _registration(credential: Mapping[str, Any]) -> "RegistrationCredential":
    from webauthn.helpers import parse_registration_credential_json
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        return parse_registration_credential_json(dict(credential))
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise PasskeyRejected("The credential is not a WebAuthn registration") from None


async def register(
    conn: Connection,
    user_id: uuid.UUID,
    rp: RelyingParty,
    *,
    name: str | None,
    credential: Mapping[str, Any],
) -> Row:
    """The new passkey, once the answer to one of the user's registration challenges checks
    out; PasskeyRejected otherwise, PasskeyRegistered when the credential is known already."""
    from webauthn import verify_registration_response
    from webauthn.helpers import bytes_to_base64url
    from webauthn.helpers.exceptions import WebAuthnException

    parsed = _registration(credential)
    challenge = await _use_challenge(conn, parsed.response.client_data_json, REGISTER, user_id)
    if challenge is None:
        raise PasskeyRejected("The registration's challenge is unknown, used or expired")
    try:
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origins,
        )
    except WebAuthnException as exc:
        raise PasskeyRejected(f"The credential is not valid: {exc}") from None
    created = await conn.execute(
        insert_or_ignore(conn, passkeys)
        .values(
            id=new_id(),
            user_id=user_id,
            name=name or DEFAULT_NAME,
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            created_at=utcnow(),
            last_used_at=None,
        )
        .returning(*passkeys.c)
    )
    row = created.first()
    if row is None:
        raise PasskeyRegistered
    return row


async def list_passkeys(conn: Connection, user_id: uuid.UUID) -> Sequence[Row]:
    rows = await conn.execute(
        select(passkeys)
        .where(passkeys.c.user_id == user_id)
        .order_by(passkeys.c.created_at.desc(), passkeys.c.id)
    )
    return rows.rows


async def delete_passkey(conn: Connection, user_id: uuid.UUID, passkey_id: uuid.UUID) -> None:
    """Delete one of the user's passkeys; 404 for anyone else's, as for none."""
    deleted = await conn.execute(
        delete(passkeys).where(passkeys.c.id == passkey_id, passkeys.c.user_id == user_id)
    )
    if not deleted.rowcount:
        raise PasskeyNotFound


async def delete_all(conn: Connection, user_id: uuid.UUID) -> None:
    """Delete every passkey of the user, and the registrations under way."""
    await conn.execute(delete(passkeys).where(passkeys.c.user_id == user_id))
    await conn.execute(delete(passkey_challenges).where(passkey_challenges.c.user_id == user_id))


async def authentication_options(conn: Connection, rp: RelyingParty) -> dict[str, Any]:
    """PublicKeyCredentialRequestOptions as JSON, with no allow-list: the authenticator offers
    the passkeys it holds for the relying party (discoverable credentials)."""
    from webauthn import generate_authentication_options
    from webauthn.helpers import options_to_json_dict
    from webauthn.helpers.structs import UserVerificationRequirement

    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=CHALLENGE_SECONDS * 1000,
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    await _keep_challenge(conn, options.challenge, LOGIN, None)
    return options_to_json_dict(options)


def authentication(credential: Mapping[str, Any]) -> "AuthenticationCredential":
    """The answer of a sign-in, parsed; PasskeyNotAccepted when it is not one."""
    from webauthn.helpers import parse_authentication_credential_json
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        return parse_authentication_credential_json(dict(credential))
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise PasskeyNotAccepted from None


async def sign_in(
    conn: Connection, settings: Settings, rp: RelyingParty, credential: "AuthenticationCredential"
) -> Tokens:
    """Tokens for the owner of the passkey that answered a sign-in challenge, as a password
    sign-in gives them (`check_passkey` says when it is refused). A passkey is something held
    and, verified by the authenticator, something known or been: no second step follows.
    While EMAIL_VERIFICATION=required, an account whose email is not confirmed is
    EmailNotVerified, as a password sign-in is."""
    user = await check_passkey(conn, rp, credential)
    if settings.email_verification_mode == "required" and not user.email_verified:
        raise EmailNotVerified
    return await issue_tokens(conn=conn, settings=settings, user=user)


async def check_passkey(
    conn: Connection, rp: RelyingParty, credential: "AuthenticationCredential"
) -> Row:
    """The user whose passkey answered a sign-in challenge (its count and use recorded);
    PasskeyNotAccepted for anything else: an unknown or deleted passkey, a used or expired
    challenge, a bad signature, a signature count that went back."""
    from webauthn import verify_authentication_response
    from webauthn.helpers import bytes_to_base64url
    from webauthn.helpers.exceptions import WebAuthnException

    challenge = await _use_challenge(conn, credential.response.client_data_json, LOGIN, None)
    if challenge is None:
        raise PasskeyNotAccepted
    found = await conn.execute(
        select(passkeys).where(passkeys.c.credential_id == bytes_to_base64url(credential.raw_id))
    )
    passkey = found.first()
    handle = credential.response.user_handle
    if passkey is None or (handle is not None and handle != uuid.UUID(str(passkey.user_id)).bytes):
        raise PasskeyNotAccepted
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origins,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
        )
    except WebAuthnException:
        raise PasskeyNotAccepted from None
    # The count checked above is the one this statement replaces: of two sign-ins racing with
    # the same count, one goes on.
    moved = await conn.execute(
        update(passkeys)
        .where(passkeys.c.id == passkey.id, passkeys.c.sign_count == passkey.sign_count)
        .values(sign_count=verified.new_sign_count, last_used_at=utcnow())
    )
    user = await get_user(conn=conn, user_id=passkey.user_id)
    if not moved.rowcount or user is None:
        raise PasskeyNotAccepted
    return user
