"""Opaque, signed tokens the service hands out and takes back (list cursors, sync tokens).

A token carries a small JSON value and a signature; the signature also covers a context (the
user, the query) that the token itself does not carry, so a token used in another context, or
altered at all, fails to verify.
"""

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

SIGNATURE_BYTES = 16
# json.dumps(value, separators=(",", ":")), without making its encoder on every call.
_COMPACT = json.JSONEncoder(separators=(",", ":"))


class InvalidToken(ValueError):
    pass


class Signer:
    def __init__(self, secret: str, purpose: str) -> None:
        # One key per purpose, so that a token of one kind is never accepted as another.
        self._key = hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()

    def _signature(self, context: str, body: bytes) -> bytes:
        message = context.encode() + b"\0" + body
        return hmac.new(self._key, message, hashlib.sha256).digest()[:SIGNATURE_BYTES]

    def dumps(self, value: Any, context: str) -> str:
        body = _COMPACT.encode(value).encode()
        token = self._signature(context, body) + body
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def loads(self, token: str, context: str) -> Any:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise InvalidToken("is not a token this service issued") from None
        signature, body = raw[:SIGNATURE_BYTES], raw[SIGNATURE_BYTES:]
        if not hmac.compare_digest(signature, self._signature(context, body)):
            raise InvalidToken("is not valid here (altered, or issued for another query)")
        try:
            return json.loads(body)
        except ValueError:
            raise InvalidToken("is not a token this service issued") from None
