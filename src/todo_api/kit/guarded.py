"""The connections to where a webhook points (and to an OAuth client's metadata document, a
push service): `GuardedBackend` resolves the host itself, refuses the connection if any
address is not public (todo_api.kit.targets says which are), and connects to the address it
checked. Imported (with httpx and httpcore) where the first client is made, not at start."""

import typing

import httpcore
import httpx

from todo_api.kit.targets import ALLOW_HINT, is_refused, resolve


class RefusedTarget(httpcore.ConnectError):
    """The host is, or resolves to, an address that is not public."""


def _refused_by_peer(failure: BaseException | None) -> bool:
    """Whether a failure to connect was the peer refusing (somewhere in its causes)."""
    while failure is not None:
        if isinstance(failure, ConnectionRefusedError):
            return True
        failure = failure.__cause__ or failure.__context__
    return False


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to public addresses (any, with `allow_private`), the ones it resolved and
    checked itself, through `inner` (httpcore's AnyIO backend unless given)."""

    def __init__(
        self, *, allow_private: bool, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._allow_private = allow_private
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port)
        except (OSError, UnicodeError):
            raise httpcore.ConnectError(f"could not resolve {host}") from None
        if not addresses:
            raise httpcore.ConnectError(f"could not resolve {host}")
        if not self._allow_private:
            refused = [address for address in addresses if is_refused(address)]
            if refused:
                raise RefusedTarget(
                    f"refused: {host} is or resolves to an address that is not public "
                    f"({refused[0]}); {ALLOW_HINT}"
                )
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
        what = "connection refused" if _refused_by_peer(failure) else "could not connect"
        raise httpcore.ConnectError(f"{what} ({host}:{port})") from failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks connect over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a pool whose connections go through `GuardedBackend`, with no
    proxy from the environment."""

    def __init__(
        self, *, allow_private: bool, keep_alive: int = 20, connections: int = 100
    ) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=connections,
            max_keepalive_connections=keep_alive,
            network_backend=GuardedBackend(allow_private=allow_private),
        )
