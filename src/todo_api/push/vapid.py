"""VAPID keys (RFC 8292) in the form pywebpush takes: base64url without padding, the public
key the 65-byte uncompressed P-256 point, the private key its 32-byte scalar."""

import base64

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SCALAR_BYTES = 32


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def new_keys() -> tuple[str, str]:
    """A new pair: (public, private)."""
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    scalar = key.private_numbers().private_value.to_bytes(SCALAR_BYTES, "big")
    return b64url(point), b64url(scalar)
