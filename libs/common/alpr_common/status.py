"""The live status of a token's holder, checked on every authenticated request by the gateway and
by every service (defence in depth: a service called directly refuses what the gateway refuses).

Access answers `GET /v1/principals/{subject}/status`; the answer is cached a couple of seconds per
process, so deactivation, a removed role, lapsed training (344.7(b)) and revoked tokens (sign-out,
password change, TOTP reset) bite within seconds even while a token is unexpired.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from alpr_common.auth import Principal
from alpr_common.errors import Forbidden, Unauthorized, Unavailable


@dataclass(frozen=True)
class PrincipalStatus:
    subject: str
    kind: str
    active: bool
    roles: frozenset[str]
    training_valid_until: datetime | None
    # Tokens issued (iat) before this instant are refused: password change, TOTP reset,
    # deactivation and role changes end every session the person had.
    tokens_valid_after: datetime | None = None
    # Token ids signed out before they expired (unexpired ones only).
    revoked_token_ids: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> PrincipalStatus:
        trn = body.get("training_valid_until")
        after = body.get("tokens_valid_after")
        return cls(
            subject=str(body["subject"]),
            kind=str(body["kind"]),
            active=bool(body["active"]),
            roles=frozenset(body.get("roles", [])),
            training_valid_until=datetime.fromisoformat(trn) if trn else None,
            tokens_valid_after=datetime.fromisoformat(after) if after else None,
            revoked_token_ids=frozenset(body.get("revoked_token_ids", [])),
        )


class StatusSource(Protocol):
    async def fetch(self, subject: str) -> PrincipalStatus | None: ...


class StaticStatus:
    """Principals known in advance, for a service run without access (benchmarks, tests):
    exactly these subjects, with these statuses; any other is unknown and refused."""

    def __init__(self, statuses: dict[str, PrincipalStatus] | None = None) -> None:
        self.status: dict[str, PrincipalStatus] = dict(statuses or {})

    def add(
        self,
        subject: str,
        *,
        kind: str,
        roles: frozenset[str],
        training_valid_until: datetime | None = None,
    ) -> None:
        self.status[subject] = PrincipalStatus(
            subject=subject,
            kind=kind,
            active=True,
            roles=roles,
            training_valid_until=training_valid_until,
        )

    async def fetch(self, subject: str) -> PrincipalStatus | None:
        return self.status.get(subject)


class AccessStatusSource:
    """Asks access over HTTP, with this process's service token."""

    def __init__(
        self, client: httpx.AsyncClient, access_url: str, token: Callable[[], Awaitable[str]]
    ) -> None:
        self.client = client
        self.url = access_url.rstrip("/")
        self.token = token

    async def fetch(self, subject: str) -> PrincipalStatus | None:
        try:
            token = await self.token()
            resp = await self.client.get(
                f"{self.url}/v1/principals/{subject}/status",
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise Unavailable(
                "access is unreachable, so principal status cannot be checked; retry shortly"
            ) from exc
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise Unavailable(f"access answered {resp.status_code} to a status check; retry")
        return PrincipalStatus.from_json(resp.json())


class StatusCache:
    """Statuses from `source`, each reused for `ttl_seconds`. One fetch per subject at a time:
    the requests that miss while it is under way wait for its answer (a camera client posting
    on many connections would otherwise send access one status request per connection each
    time its entry expired).

    A status in use is fetched again ahead of its expiry: the first request after half its time
    to live starts the fetch and goes on with the status it has, still within its time to live.
    A subject in steady use then never waits: before, every request of a camera client (one
    subject, hundreds of cameras) stalled together each time its entry expired, for as long as
    access took to answer, and at 1,000 posts/s on two cores the queue of that moment took a
    few hundred milliseconds to drain. No status is ever used older than `ttl_seconds`."""

    REFRESH_AT = 0.5  # of the time to live

    def __init__(
        self,
        source: StatusSource,
        ttl_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.ttl = ttl_seconds
        self.clock = clock
        self._cache: dict[str, tuple[float, PrincipalStatus | None]] = {}
        self._fetching: dict[str, asyncio.Task[PrincipalStatus | None]] = {}
        # Subjects whose fetch ahead of expiry failed, with the time of the entry it was to
        # replace: not tried again before that entry expires (access down is not hammered).
        self._refresh_failed: dict[str, float] = {}

    async def get(self, subject: str) -> PrincipalStatus:
        now = self.clock()
        hit = self._cache.get(subject)
        if hit is None or now - hit[0] > self.ttl:
            status = await asyncio.shield(self._start_fetch(subject, now))
        else:
            if (
                now - hit[0] > self.ttl * self.REFRESH_AT
                and self._refresh_failed.get(subject) != hit[0]
            ):
                self._start_fetch(subject, now)
            status = hit[1]
        if status is None:
            raise Unauthorized("the token's principal is unknown to access")
        return status

    def _start_fetch(self, subject: str, now: float) -> asyncio.Task[PrincipalStatus | None]:
        """The fetch under way for `subject`, or a new one."""
        loop = asyncio.get_running_loop()
        fetching = self._fetching.get(subject)
        # A task cancelled before it ran never cleared its entry: it is not waited for.
        if fetching is None or fetching.done() or fetching.get_loop() is not loop:
            fetching = loop.create_task(self._fetch(subject, now))
            # A fetch ahead of expiry that fails is nobody's error: the entry ages on, and the
            # first request after its expiry fetches again and answers what that one says.
            fetching.add_done_callback(_retrieved)
            self._fetching[subject] = fetching
        return fetching

    async def _fetch(self, subject: str, now: float) -> PrincipalStatus | None:
        try:
            status = await self.source.fetch(subject)
        except BaseException:
            if (hit := self._cache.get(subject)) is not None:
                self._refresh_failed[subject] = hit[0]
            raise
        else:
            self._refresh_failed.pop(subject, None)
            self._cache[subject] = (now, status)
            if len(self._cache) > 100_000:
                self._cache.clear()
                self._refresh_failed.clear()
            return status
        finally:
            if self._fetching.get(subject) is asyncio.current_task():
                del self._fetching[subject]


def _retrieved(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


class PrincipalStatusCheck:
    """The one live check of a verified token against its holder's status."""

    def __init__(self, cache: StatusCache, *, training_required: bool = True) -> None:
        self.cache = cache
        # 344.7(b): people need current training for everything but personnel administration.
        self.training_required = training_required

    def use_source(self, source: StatusSource, ttl_seconds: float | None = None) -> None:
        ttl = self.cache.ttl if ttl_seconds is None else ttl_seconds
        self.cache = StatusCache(source, ttl)

    async def admit(
        self, principal: Principal, *, training_required: bool | None = None
    ) -> Principal:
        """The principal with the roles it still holds, or a refusal (401 for a revoked token,
        403 for a deactivated principal or lapsed training)."""
        status = await self.cache.get(principal.subject)
        if not status.active:
            raise Forbidden("this account or client is deactivated")
        if principal.token_id and principal.token_id in status.revoked_token_ids:
            raise Unauthorized("this token was signed out; log in again")
        issued = principal.claims.get("iat")
        after = status.tokens_valid_after
        # `iat` has whole seconds: a token issued in the second of the change (but before it)
        # survives; sign-out and password change also revoke the token used, by its id.
        if (
            after is not None
            and isinstance(issued, int | float)
            and issued < int(after.timestamp())
        ):
            raise Unauthorized(
                "this token was revoked (password or TOTP change, deactivation or role change); "
                "log in again"
            )
        required = self.training_required if training_required is None else training_required
        if required:
            self.require_training(principal, status)
        roles = principal.roles & status.roles
        if roles == principal.roles:
            return principal
        return dataclasses.replace(principal, roles=frozenset(roles))

    async def status_of(self, principal: Principal) -> PrincipalStatus:
        return await self.cache.get(principal.subject)

    @staticmethod
    def require_training(principal: Principal, status: PrincipalStatus) -> None:
        if principal.kind != "person":
            return
        valid = status.training_valid_until
        if valid is None or valid <= datetime.now(UTC):
            raise Forbidden(
                "no current ALPR training on record: access is suspended until the annual "
                "training is recorded (344.7(b)); a training coordinator records it with "
                "POST /v1/access/training-records, and the next token you sign in for carries it",
                extra={"clause": "344.7(b)"},
            )
