from __future__ import annotations

from pydantic import Field

from alpr_common.forwarded import IPNetwork, parse_networks
from alpr_common.settings import BaseServiceSettings, service_config

__all__ = ["GatewaySettings", "IPNetwork", "parse_networks"]


class GatewaySettings(BaseServiceSettings):
    model_config = service_config("GATEWAY_")

    service_name: str = "gateway"
    port: int = 8000
    # The spool: where each transaction is recorded before it is forwarded (fail closed).
    database_url: str = "sqlite+aiosqlite:///var/gateway.db"
    # Camera images ride in read posts; 25 MiB holds a batch with images, not a video.
    max_body_bytes: int = 25 * 1024 * 1024
    # Rate limits (alpr_gateway.ratelimit): a token bucket per principal, or per source address
    # before authentication; 429 with Retry-After when empty.
    rate_limit_per_second: float = Field(default=200.0, gt=0)
    rate_limit_burst: int = Field(default=400, ge=1)
    # A camera client's bucket grows by this much per camera its token names: a busy lane sees
    # about one plate a second, so 10/s per camera leaves room for several lanes and retries,
    # and a client fronting 300 cameras may post 3,200 requests/s.
    rate_limit_per_camera_per_second: float = Field(default=10.0, ge=0)
    rate_limit_per_camera_burst: int = Field(default=20, ge=0)
    # redis://host:6379/0 when more than one gateway replica runs: the buckets are shared, so
    # the limit does not grow with the replicas. Empty: in process (one gateway, `make run`).
    # If Redis is unreachable each replica limits on its own until it answers again.
    rate_limit_redis_url: str = ""
    # Prefix of the bucket keys: deployments sharing one Redis keep their buckets apart.
    rate_limit_redis_prefix: str = "alpr:ratelimit:"
    upstream_timeout_seconds: float = 30.0
    route_refresh_seconds: float = 30.0
    # The gateway's public base URL, as `servers` in its API document (`/openapi.json`);
    # empty: relative to where the document was fetched from.
    public_url: str = ""
    # Proxies in front of the gateway (an ingress controller). Default: none, so the client is
    # the peer and X-Forwarded-For is ignored (anyone can write it).
    trusted_proxies: str = ""
