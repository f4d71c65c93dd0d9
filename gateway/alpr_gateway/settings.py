from __future__ import annotations

import ipaddress

from pydantic import field_validator

from alpr_common.settings import BaseServiceSettings, service_config


class GatewaySettings(BaseServiceSettings):
    model_config = service_config("GATEWAY_")

    service_name: str = "gateway"
    port: int = 8000
    # The spool: where each transaction is recorded before it is forwarded (fail closed).
    database_url: str = "sqlite+aiosqlite:///var/gateway.db"
    # Camera images ride in read posts; 25 MiB holds a batch with images, not a video.
    max_body_bytes: int = 25 * 1024 * 1024
    # Per principal (or per source address before authentication): a token bucket.
    rate_limit_per_second: float = 200.0
    rate_limit_burst: int = 400
    upstream_timeout_seconds: float = 30.0
    route_refresh_seconds: float = 30.0
    # Proxies in front of the gateway (an ingress controller), as comma-separated addresses or
    # networks. X-Forwarded-For is read only from a peer among them, and only through their hops:
    # the client is the last address (from the right) that is not one of them. Default: none,
    # so the client is the peer and X-Forwarded-For is ignored (anyone can write it).
    trusted_proxies: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.trusted_proxies)


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in value.split(",")
            if part.strip()
        )
    except ValueError as exc:
        raise ValueError(f"GATEWAY_TRUSTED_PROXIES: {exc}") from None
