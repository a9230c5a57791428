"""A real JWKS issuer for the tests: an HTTP server on 127.0.0.1 (a free port) in a thread.

It serves `{"keys": [...]}` at /api/auth/jwks, as Better Auth's JWT plugin does. A test can
replace the key set (rotation), count the requests it received, make it answer 500 (or
something that is not JSON) or answer late (a slow or hanging issuer), and stop it (the issuer
is down). Every wait is bounded, and stopping releases any answer still held back.
"""

import base64
import json
import secrets
import string
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

JWKS_PATH = "/api/auth/jwks"
STOP_TIMEOUT = 5.0
_ID_ALPHABET = string.ascii_letters + string.digits


def random_id(length: int = 32) -> str:
    """An id shaped like Better Auth's (`generateId`): random letters and digits."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class SigningKey:
    """A private key of the issuer, the algorithm it signs with, and its public JWK."""

    algorithm: str
    private_key: Any
    kid: str = field(default_factory=random_id)

    @property
    def public_key(self) -> Any:
        return self.private_key.public_key()

    def jwk(self, *, with_alg: bool = True) -> dict[str, Any]:
        converter = {
            "EdDSA": OKPAlgorithm,
            "ES256": ECAlgorithm,
            "ES512": ECAlgorithm,
            "RS256": RSAAlgorithm,
            "PS256": RSAAlgorithm,
        }
        jwk: dict[str, Any] = converter[self.algorithm].to_jwk(self.public_key, as_dict=True)
        jwk["kid"] = self.kid
        if with_alg:
            jwk["alg"] = self.algorithm
        return jwk

    def sign(
        self, payload: dict[str, Any], *, algorithm: str | None = None, kid: str | None = None
    ) -> str:
        """A token signed with this key; the header's `alg` and `kid` may be overridden."""
        return jwt.encode(
            payload,
            self.private_key,
            algorithm=algorithm or self.algorithm,
            headers={"kid": kid or self.kid},
        )


def ed25519_key() -> SigningKey:
    return SigningKey("EdDSA", ed25519.Ed25519PrivateKey.generate())


def p256_key() -> SigningKey:
    return SigningKey("ES256", ec.generate_private_key(ec.SECP256R1()))


def p521_key() -> SigningKey:
    return SigningKey("ES512", ec.generate_private_key(ec.SECP521R1()))


def rsa_key(algorithm: str = "RS256") -> SigningKey:
    """An RSA key for RS256, or for PS256 (RSASSA-PSS) when asked."""
    return SigningKey(algorithm, rsa.generate_private_key(public_exponent=65537, key_size=2048))


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up on a held-back answer is expected, not an error


class JwksServer:
    """The issuer. `keys` is the published key set; `requests` counts GETs of the JWKS."""

    def __init__(self, keys: list[dict[str, Any]] | None = None) -> None:
        self.keys: list[dict[str, Any]] = list(keys or [])
        self.status = 200
        self.not_json = False
        self.delay = 0.0  # seconds each answer is held back
        self._requests = 0
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._running = False

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{JWKS_PATH}"

    @property
    def requests(self) -> int:
        with self._lock:
            return self._requests

    def publish(self, *jwks: dict[str, Any]) -> None:
        """Replace the published key set."""
        with self._lock:
            self.keys = list(jwks)

    def start(self) -> "JwksServer":
        self._thread.start()
        self._running = True
        return self

    def stop(self) -> None:
        """Stop serving and close the port: connections are refused from now on."""
        self._released.set()
        if self._running:
            self._running = False
            self._httpd.shutdown()
            self._thread.join(STOP_TIMEOUT)
        self._httpd.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            if handler.path.split("?")[0] != JWKS_PATH:
                status, body = 404, b'{"error": "not found"}'
            else:
                self._requests += 1
                status = self.status
                if status != 200:
                    body = b'{"error": "internal"}'
                elif self.not_json:
                    body = b"<html>Bad gateway</html>"
                else:
                    body = json.dumps({"keys": self.keys}).encode()
            delay = self.delay
        if delay:
            self._released.wait(delay)
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: one request per connection, so a stopped server serves nothing more.
            def do_GET(self) -> None:
                server._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output clean

        return Handler
