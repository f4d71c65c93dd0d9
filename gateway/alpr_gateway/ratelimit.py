"""Rate limits at the gateway: a token bucket per principal (per source address before
authentication), sized per camera for camera clients.

The buckets live in process (one gateway, `make run`) or in Redis when
`GATEWAY_RATE_LIMIT_REDIS_URL` is set, so that N gateway replicas share one limit instead of N.
If Redis cannot be reached the gateway does not fail the request: each replica falls back to its
own in-process buckets (the limit holds per replica, at most N times the shared one) and tries
Redis again after `REDIS_RETRY_SECONDS`. A limiter store that is down never turns into a 500 or a
refusal of the whole suite.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from alpr_common.auth import Principal
from alpr_common.errors import TooManyRequests

log = logging.getLogger("alpr.gateway.ratelimit")

# After a Redis failure, requests use the in-process buckets this long before Redis is tried
# again: a store that is down costs one failed call per interval, not one per request.
REDIS_RETRY_SECONDS = 5.0
# A Redis that does not answer within this is treated as down for the request.
REDIS_TIMEOUT_SECONDS = 0.25
KEY_PREFIX = "alpr:ratelimit:"
LOCAL_MAX_BUCKETS = 100_000

# One atomic take from a bucket: refill by the time elapsed (the server's clock, so replicas with
# different clocks agree), take a token or say how long until one is there. The bucket expires
# once it would be full again, so idle clients leave nothing behind.
TAKE_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens < 1 then
  wait = (1 - tokens) / rate
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens (requests) per second
    burst: float  # bucket size


class BucketStore(Protocol):
    async def take(self, key: str, limit: Limit) -> float:
        """Take one token; 0.0 if granted, else the seconds until one is there."""
        ...

    async def aclose(self) -> None: ...


class LocalBuckets:
    """Buckets in this process: exact for one replica, per replica for several."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}

    async def take(self, key: str, limit: Limit) -> float:
        return self.take_now(key, limit)

    def take_now(self, key: str, limit: Limit) -> float:
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (limit.burst, now))
        tokens = min(limit.burst, tokens + (now - last) * limit.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / limit.rate
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > LOCAL_MAX_BUCKETS:
            self._buckets.clear()
        return 0.0

    async def aclose(self) -> None:
        return None


class RedisBuckets:
    """Buckets shared by every gateway replica, in Redis; in-process while Redis is down."""

    def __init__(self, url: str, *, prefix: str = KEY_PREFIX, client: Any = None) -> None:
        import redis.asyncio as aioredis

        self.prefix = prefix
        self.client = client or aioredis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            retry_on_timeout=False,
        )
        self._take = self.client.register_script(TAKE_SCRIPT)
        self.fallback = LocalBuckets()
        self._down_until = 0.0

    @property
    def shared(self) -> bool:
        """Whether the last decision came from Redis (False while it is treated as down)."""
        return time.monotonic() >= self._down_until

    async def take(self, key: str, limit: Limit) -> float:
        if time.monotonic() < self._down_until:
            return self.fallback.take_now(key, limit)
        try:
            wait = await self._take(keys=[self.prefix + key], args=[limit.rate, limit.burst])
        except Exception as exc:  # any failure of the store: fall back, never a 500
            if self.shared:
                log.warning(
                    "rate-limit store unreachable (%s); limiting per replica for %gs",
                    type(exc).__name__,
                    REDIS_RETRY_SECONDS,
                )
            self._down_until = time.monotonic() + REDIS_RETRY_SECONDS
            return self.fallback.take_now(key, limit)
        return float(wait)

    async def aclose(self) -> None:
        await self.client.aclose()


class RateLimiter:
    """The gateway's limits. Every principal has a bucket of `per_second` / `burst`; a camera
    client's bucket grows by `per_camera_per_second` / `per_camera_burst` for each camera its token
    names, so a client that fronts a fleet is sized to the fleet (issue 21). Requests before
    authentication (public routes) are limited per source address."""

    def __init__(
        self,
        per_second: float,
        burst: int,
        *,
        per_camera_per_second: float = 0.0,
        per_camera_burst: int = 0,
        store: BucketStore | None = None,
    ) -> None:
        self.base = Limit(per_second, float(burst))
        self.per_camera = Limit(per_camera_per_second, float(per_camera_burst))
        self.store: BucketStore = store or LocalBuckets()

    @classmethod
    def from_settings(cls, settings: Any) -> RateLimiter:
        url = settings.rate_limit_redis_url
        return cls(
            settings.rate_limit_per_second,
            settings.rate_limit_burst,
            per_camera_per_second=settings.rate_limit_per_camera_per_second,
            per_camera_burst=settings.rate_limit_per_camera_burst,
            store=RedisBuckets(url, prefix=settings.rate_limit_redis_prefix)
            if url
            else LocalBuckets(),
        )

    def limit_for(self, principal: Principal | None) -> Limit:
        cameras = len(principal.cameras) if principal is not None else 0
        return Limit(
            self.base.rate + cameras * self.per_camera.rate,
            self.base.burst + cameras * self.per_camera.burst,
        )

    async def check_address(self, address: str) -> None:
        await self._check(f"addr:{address}", self.base)

    async def check_principal(self, principal: Principal) -> None:
        await self._check(f"sub:{principal.subject}", self.limit_for(principal))

    async def _check(self, key: str, limit: Limit) -> None:
        wait = await self.store.take(key, limit)
        if wait > 0.0:
            raise TooManyRequests(
                f"rate limit of {limit.rate:g} requests/s exceeded; retry in {wait:.2f}s",
                extra={"retry_after_seconds": round(wait, 2)},
                retry_after=wait,
            )

    async def aclose(self) -> None:
        await self.store.aclose()
