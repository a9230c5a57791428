"""A software authenticator for HTTP tests of passkeys: an ES256 key per credential, `none`
attestation, a signature counter, answers in the JSON a browser's `toJSON()` gives. CBOR is
encoded by py_webauthn's helper; the real ceremonies in a browser are
tests/accounts/test_passkeys_browser.py."""

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

UP, UV, AT = 0x01, 0x04, 0x40


@dataclass
class Credential:
    id: bytes
    key: ec.EllipticCurvePrivateKey
    user_handle: bytes
    rp_id: str
    sign_count: int = 0


@dataclass
class Authenticator:
    origin: str
    counts: bool = True  # whether it counts its signatures (some, like synced passkeys, do not)
    credentials: list[Credential] = field(default_factory=list)

    def create(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        again: Credential | None = None,
    ) -> dict[str, Any]:
        """navigator.credentials.create() with these options: a new credential, or `again`
        attested once more (as an authenticator that ignores the exclude list would)."""
        rp_id = options["rp"]["id"]
        credential = again or Credential(
            id=secrets.token_bytes(32),
            key=ec.generate_private_key(ec.SECP256R1()),
            user_handle=base64url_to_bytes(options["user"]["id"]),
            rp_id=rp_id,
        )
        numbers = credential.key.public_key().public_numbers()
        cose_key = {
            1: 2,  # kty: EC2
            3: -7,  # alg: ES256
            -1: 1,  # crv: P-256
            -2: numbers.x.to_bytes(32, "big"),
            -3: numbers.y.to_bytes(32, "big"),
        }
        attested = (
            bytes(16)  # AAGUID
            + struct.pack(">H", len(credential.id))
            + credential.id
            + encode_cbor(cose_key)
        )
        auth_data = self._auth_data(rp_id, UP | UV | AT, 0) + attested
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        if again is None:
            self.credentials.append(credential)
        return {
            "id": bytes_to_base64url(credential.id),
            "rawId": bytes_to_base64url(credential.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(
        self,
        options: dict[str, Any],
        credential: Credential | None = None,
        *,
        sign_count: int | None = None,
        origin: str | None = None,
    ) -> dict[str, Any]:
        """navigator.credentials.get() with these options: the last credential made, unless
        another is given; `sign_count` reports that count instead of the next one."""
        credential = credential or self.credentials[-1]
        if self.counts:
            credential.sign_count += 1
        count = credential.sign_count if sign_count is None else sign_count
        auth_data = self._auth_data(options["rpId"], UP | UV, count)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = credential.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": bytes_to_base64url(credential.id),
            "rawId": bytes_to_base64url(credential.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(auth_data),
                "signature": bytes_to_base64url(signature),
                "userHandle": bytes_to_base64url(credential.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    @staticmethod
    def _auth_data(rp_id: str, flags: int, sign_count: int) -> bytes:
        return (
            hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", sign_count)
        )

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps({**data, "crossOrigin": False}).encode()
