"""Signed tokens on their own: what goes in comes out, and nothing else verifies."""

import base64
import hashlib
import hmac
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from todo_api.kit.signing import SIGNATURE_BYTES, InvalidToken, Signer

SECRET = "a-secret-for-the-signing-unit-tests-0123456789"
SIGNER = Signer(SECRET, "purpose")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def decoded(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def encoded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@given(value=json_values, context=st.text())
def test_a_token_gives_back_its_value_in_its_context(value: Any, context: str) -> None:
    assert SIGNER.loads(SIGNER.dumps(value, context), context) == value


def test_a_token_is_unpadded_url_safe_base64_of_signature_then_json() -> None:
    token = SIGNER.dumps([1, "é", None], "ctx")
    assert "=" not in token
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decoded(token)[SIGNATURE_BYTES:] == b'[1,"\\u00e9",null]'


def test_signing_is_deterministic() -> None:
    assert SIGNER.dumps({"a": 1}, "ctx") == Signer(SECRET, "purpose").dumps({"a": 1}, "ctx")


def test_every_altered_byte_fails_to_verify() -> None:
    token = SIGNER.dumps(["2026-01-01T00:00:00", "0123abcd"], "ctx")
    raw = decoded(token)
    for index in range(len(raw)):
        altered = raw[:index] + bytes([raw[index] ^ 0x01]) + raw[index + 1 :]
        with pytest.raises(InvalidToken):
            SIGNER.loads(encoded(altered), "ctx")


@pytest.mark.parametrize("cut", [1, SIGNATURE_BYTES, SIGNATURE_BYTES + 3])
def test_a_shortened_token_fails_to_verify(cut: int) -> None:
    raw = decoded(SIGNER.dumps([1, 2, 3], "ctx"))
    with pytest.raises(InvalidToken):
        SIGNER.loads(encoded(raw[:-cut]), "ctx")


@pytest.mark.parametrize("context", ["", "ctx ", "CTX", "ct", "ctx\0"])
def test_a_token_fails_in_another_context(context: str) -> None:
    with pytest.raises(InvalidToken, match="altered, or issued for another query"):
        SIGNER.loads(SIGNER.dumps([1], "ctx"), context)


@pytest.mark.parametrize(
    "other",
    [Signer(SECRET, "another purpose"), Signer(SECRET + "x", "purpose"), Signer("", "")],
)
def test_a_token_fails_under_another_purpose_or_secret(other: Signer) -> None:
    with pytest.raises(InvalidToken):
        other.loads(SIGNER.dumps([1], "ctx"), "ctx")
    with pytest.raises(InvalidToken):
        SIGNER.loads(other.dumps([1], "ctx"), "ctx")


@pytest.mark.parametrize("token", ["", "!", "abc", "a" * 5, "====", "é"])
def test_what_is_not_a_token_fails_to_verify(token: str) -> None:
    with pytest.raises(InvalidToken):
        SIGNER.loads(token, "ctx")


def test_a_validly_signed_body_that_is_not_json_is_refused() -> None:
    key = hmac.new(SECRET.encode(), b"purpose", hashlib.sha256).digest()
    body = b"not json"
    signature = hmac.new(key, b"ctx\0" + body, hashlib.sha256).digest()[:SIGNATURE_BYTES]
    with pytest.raises(InvalidToken, match="is not a token this service issued"):
        SIGNER.loads(encoded(signature + body), "ctx")
