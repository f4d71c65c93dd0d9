"""The client's address: the TCP peer, unless the peer is a configured trusted proxy; then
X-Forwarded-For is walked from the right through trusted hops (`<SVC>_TRUSTED_PROXIES`). The
gateway and every service use this one rule, and only it: uvicorn's own proxy headers are off
(they rewrote every request's client address, work this rule does again where an address is
wanted)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    """Comma-separated addresses or networks (`10.0.0.0/8,127.0.0.1`)."""
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in value.split(",")
            if part.strip()
        )
    except ValueError as exc:
        raise ValueError(f"trusted proxies: {exc}") from None


def client_address(peer: str, forwarded: list[str], trusted: Sequence[IPNetwork]) -> str:
    """The client behind trusted proxies: walking X-Forwarded-For from the right (each proxy
    appends the address it received from), the first address that is not a trusted proxy.
    Entries a client wrote itself sit to the left of it and are never reached."""

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in trusted)

    hops = [h.strip() for value in forwarded for h in value.split(",") if h.strip()]
    address = peer
    while is_trusted(address) and hops:
        hop = hops.pop()
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            break  # a malformed hop: the last proxy's peer is as far as we can trust
    return address


def source_address(request: Request, trusted: Sequence[IPNetwork]) -> str | None:
    """`client_address` of a request; None when the server knows no peer."""
    if request.client is None:
        return None
    if not trusted:
        return request.client.host
    return client_address(request.client.host, request.headers.getlist("x-forwarded-for"), trusted)
