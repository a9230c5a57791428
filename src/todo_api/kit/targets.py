"""Where a webhook may point (and where an OAuth client's metadata document is fetched from):
`http`/`https` URLs whose host is, and resolves to, public addresses only (unless
WEBHOOK_ALLOW_PRIVATE_URLS), checked when the URL is given and again at every connection, on
the very addresses the connection then uses.

A public name can resolve to a private address later (DNS rebinding), so checking the URL at
creation is not enough, and neither is resolving it before asking httpx to connect (httpx
would resolve it again). `GuardedBackend` (todo_api.kit.guarded, loaded with httpx by the
first client made: most processes never make one) is an httpcore network backend: it resolves
the host itself, refuses the connection if any address is not public, and connects to the
address it checked; TLS still verifies the certificate against the URL's host name, which
httpcore passes on. Hand-written because no maintained library does this for httpx's async
transport.
"""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

# How long a lookup at creation may take; a name that does not answer in time is accepted
# (and checked again at each connection).
RESOLVE_TIMEOUT_SECONDS = 5.0
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# What a refusal tells the webhook's owner (the contract names the setting).
ALLOW_HINT = "WEBHOOK_ALLOW_PRIVATE_URLS=true allows it (development, tests, a private network)"

# Refused whatever Python's `ipaddress` says of them: "this network", all of the IETF
# protocol assignments (some of which `ipaddress` calls global), site-local IPv6 (deprecated,
# routed privately) and the local-use NAT64 prefix (RFC 8215: never reachable from the
# Internet, and the IPv4 address it carries sits where its operator chose).
_ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(network)
    for network in ("0.0.0.0/8", "192.0.0.0/24", "fec0::/10", "64:ff9b:1::/48")
)
# IPv6 forms whose last 32 bits are an IPv4 address that the packet reaches: well-known NAT64
# (RFC 6052), IPv4-compatible (RFC 4291, deprecated) and IPv4-translated (RFC 2765, SIIT).
_CARRIED_IN_LAST_32_BITS = tuple(
    ipaddress.IPv6Network(network) for network in ("64:ff9b::/96", "::/96", "::ffff:0:0:0/96")
)
_LAST_32_BITS = 0xFFFFFFFF


def url_problem(url: str) -> str | None:
    """What is wrong with the URL's form (None: nothing)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in {"http", "https"}:
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "must name a host"
    if any(char.isspace() for char in url):
        return "must not contain white space"
    import httpx  # loaded by the first URL given (a webhook's, a push subscription's)

    try:
        # What the delivery client would refuse at every attempt (a control character, a
        # host that is not a valid international name) is refused now.
        httpx.Request("POST", url)
    except (httpx.InvalidURL, ValueError):  # the `idna` package's errors are ValueErrors
        return "is not a URL the delivery client can send to"
    return None


def carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and is delivered to (None: none): IPv4-mapped,
    6to4, NAT64, IPv4-compatible and IPv4-translated forms."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in _CARRIED_IN_LAST_32_BITS):
        return ipaddress.IPv4Address(int(address) & _LAST_32_BITS)
    return None


def is_refused(address: Address) -> bool:
    """Not a public address: `_ALWAYS_REFUSED`, an IPv6 form that carries an IPv4 address
    judged as that address, and what Python's `ipaddress` does not call global or multicast."""
    if any(address in network for network in _ALWAYS_REFUSED):
        return True
    if isinstance(address, ipaddress.IPv6Address):
        carried = carried_ipv4(address)
        if carried is not None:
            return is_refused(carried)
    return not address.is_global or address.is_multicast


def literal_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[Address]:
    """Every address the host name gives for TCP (raises OSError when it gives none)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


async def creation_problem(url: str) -> str | None:
    """Why the URL may not be a webhook's target, looking its host up (None: it may). A name
    that does not resolve (now) is accepted: each connection checks it again."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            addresses = await resolve(host, port)
    except (OSError, TimeoutError, UnicodeError):
        return None
    refused = [address for address in addresses if is_refused(address)]
    if refused:
        return f"points at an address that is not public ({refused[0]}); {ALLOW_HINT}"
    return None
