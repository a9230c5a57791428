"""What a browser sends: the body of `PushSubscription.toJSON()`."""

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from todo_api.kit.targets import url_problem
from todo_api.tables.push import ENDPOINT_MAX_LENGTH

P256DH_BYTES, AUTH_BYTES = 65, 16
# A time beyond datetime's range is no expiry worth keeping.
_LATEST_MS = 253402300799000


def _decoded(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        raise ValueError("must be base64url") from None


def _p256dh(text: str) -> str:
    raw = _decoded(text.strip())
    if len(raw) != P256DH_BYTES or raw[0] != 4:
        raise ValueError("must be base64url of a 65-byte uncompressed P-256 point")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise ValueError("is not a point of P-256") from None
    return text.strip().rstrip("=")


def _auth(text: str) -> str:
    if len(_decoded(text.strip())) != AUTH_BYTES:
        raise ValueError("must be base64url of 16 bytes")
    return text.strip().rstrip("=")


def _endpoint(url: str) -> str:
    url = url.strip()
    problem = url_problem(url)
    if problem is not None:
        raise ValueError(problem)
    return url


class SubscriptionKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")

    p256dh: Annotated[str, Field(max_length=200), AfterValidator(_p256dh)]
    auth: Annotated[str, Field(max_length=100), AfterValidator(_auth)]


class SubscriptionIn(BaseModel):
    """`PushSubscription.toJSON()`: keys the browser adds beyond these are ignored."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "endpoint": "https://push.example.net/send/abc123",
                    "expirationTime": None,
                    "keys": {
                        "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u"
                        "-Ts1XbjhazAkj7I99e8QcYP7DkM",
                        "auth": "tBHItJI5svbpez7KI4CCXg",
                    },
                }
            ]
        },
    )

    endpoint: Annotated[
        str,
        Field(
            max_length=ENDPOINT_MAX_LENGTH,
            description="The push service's URL: https://, to a public address (unless the "
            "service allows private ones)",
        ),
        AfterValidator(_endpoint),
    ]
    expirationTime: float | None = Field(
        default=None, ge=0, description="When the subscription ends (ms since 1970), or null"
    )
    keys: SubscriptionKeys

    def expires_at(self) -> datetime | None:
        if self.expirationTime is None or self.expirationTime > _LATEST_MS:
            return None
        return datetime.fromtimestamp(self.expirationTime / 1000, UTC)


class EndpointIn(BaseModel):
    """DELETE's body: the subscription's endpoint (the rest of `toJSON()` may come along)."""

    model_config = ConfigDict(extra="ignore")

    endpoint: Annotated[str, Field(min_length=1, max_length=ENDPOINT_MAX_LENGTH)]


class VapidKey(BaseModel):
    public_key: str = Field(
        description="The VAPID public key (base64url, no padding): `applicationServerKey`"
    )
