"""The connection-time guard (`GuardedBackend`) on literal addresses, over a network backend
that records where it would connect and sends nothing: every refused form is refused before
any connection, every public one is connected to on the address that was checked."""

import ipaddress
import typing

import httpcore
import pytest

from todo_api.kit.guarded import GuardedBackend, RefusedTarget

REFUSED = [
    "127.0.0.1",
    "10.0.0.1",
    "192.0.0.8",
    "192.0.0.170",
    "fec0::1",
    "::1",
    "::ffff:127.0.0.1",
    "64:ff9b::a00:1",
    "64:ff9b::7f00:1",
    "64:ff9b:1::808:808",
    "2002:7f00:1::",
    "::127.0.0.1",
    "::ffff:0:a00:1",
]
PUBLIC = ["8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8", "2606:4700::1111"]


class Recorder(httpcore.AsyncMockBackend):
    """Connects nowhere: notes the address and gives a stream that reads nothing."""

    def __init__(self) -> None:
        super().__init__([])
        self.connected: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        return await super().connect_tcp(host, port, timeout, local_address, socket_options)


@pytest.mark.parametrize("address", REFUSED)
async def test_an_address_that_is_not_public_is_refused_before_connecting(address: str) -> None:
    network = Recorder()
    backend = GuardedBackend(allow_private=False, inner=network)
    with pytest.raises(RefusedTarget) as refused:
        await backend.connect_tcp(address, 80)
    assert "not public" in str(refused.value)
    assert "WEBHOOK_ALLOW_PRIVATE_URLS=true" in str(refused.value)
    assert network.connected == []


@pytest.mark.parametrize("address", PUBLIC)
async def test_a_public_address_is_connected_to_as_checked(address: str) -> None:
    network = Recorder()
    await GuardedBackend(allow_private=False, inner=network).connect_tcp(address, 80)
    assert network.connected == [str(ipaddress.ip_address(address))]


@pytest.mark.parametrize("address", REFUSED)
async def test_private_addresses_are_connected_to_when_allowed(address: str) -> None:
    network = Recorder()
    await GuardedBackend(allow_private=True, inner=network).connect_tcp(address, 80)
    assert network.connected == [str(ipaddress.ip_address(address))]
