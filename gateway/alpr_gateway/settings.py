from __future__ import annotations

from alpr_common.settings import BaseServiceSettings, service_config


class GatewaySettings(BaseServiceSettings):
    model_config = service_config("GATEWAY_")

    service_name: str = "gateway"
    port: int = 8000
    # The spool: where each transaction is recorded before it is forwarded (fail closed).
    database_url: str = "sqlite+aiosqlite:///var/gateway.db"
    # 344.7(b), DESIGN 4: deactivation, role changes and training lapse bite within seconds.
    status_cache_seconds: float = 2.0
    # Camera images ride in read posts; 25 MiB holds a batch with images, not a video.
    max_body_bytes: int = 25 * 1024 * 1024
    # Per principal (or per source address before authentication): a token bucket.
    rate_limit_per_second: float = 200.0
    rate_limit_burst: int = 400
    upstream_timeout_seconds: float = 30.0
    route_refresh_seconds: float = 30.0
    # Behind a Kubernetes ingress the client address is the first X-Forwarded-For entry.
    trust_forwarded_for: bool = False
